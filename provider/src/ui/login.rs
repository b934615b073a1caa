//! The sign-in page: any identifier and the password (R15), or an SMS code (R16);
//! then back into the authorization flow that sent the person here (R18).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::account::signin::Attempt;
use latchkey_core::captcha::Challenge;
use latchkey_core::grant::request;
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::ui::signed_in;
use crate::web::error::ApiResult;
use crate::web::http::{FormBody, origin};
use crate::web::page::Page;

#[derive(Deserialize)]
struct LoginQuery {
    flow: Option<String>,
    method: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    password: String,
    /// The CAPTCHA answer (`id:nonce`), when one was asked for (R19).
    captcha: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    code: String,
}

/// What the page shows besides the form.
#[derive(Default)]
struct View<'a> {
    method: &'a str,
    identifier: &'a str,
    mobile: &'a str,
    error: Option<String>,
    info: Option<String>,
    /// A CAPTCHA to solve with the next try (R19).
    captcha: Option<Challenge>,
}

pub(crate) fn nonempty(flow: &Option<String>) -> Option<&str> {
    flow.as_deref().filter(|f| !f.is_empty())
}

pub(crate) fn page_for(svc: &AppState, tenant: &str, headers: &HeaderMap, flow: Option<&str>) -> Page {
    let ui_locales = flow
        .and_then(|id| request::load_flow(&svc.store, tenant, id, svc.now()).ok().flatten())
        .and_then(|f| f.request.ui_locales);
    Page::new(headers, ui_locales.as_deref())
}

fn render(svc: &AppState, tenant: &str, page: &Page, flow: Option<&str>, view: View<'_>) -> ApiResult<Response> {
    let t = svc.tenants.get(tenant)?;
    let saved = match flow {
        Some(id) => request::load_flow(&svc.store, tenant, id, svc.now())?,
        None => None,
    };
    let client_name = saved.as_ref().and_then(|f| svc.clients.get(tenant, &f.request.client_id).ok()).map(|c| c.name);
    let hint = saved.as_ref().and_then(|f| f.request.login_hint.clone()).unwrap_or_default();
    let status = if view.error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    Ok(page.render(
        svc,
        status,
        "login.html",
        json!({
            "tenant_name": t.display_name, "client_name": client_name, "flow": flow.unwrap_or(""),
            "identifier": if view.identifier.is_empty() { hint.as_str() } else { view.identifier },
            "mobile": view.mobile, "method": view.method, "error": view.error, "info": view.info,
            "base": format!("/t/{tenant}"), "captcha": view.captcha,
            "captcha_working": page.text("captcha_working"), "captcha_done": page.text("captcha_done"),
            "captcha_noscript": page.text("captcha_noscript"),
            "upstreams": svc.upstreams.list(tenant)?.into_iter()
                .map(|u| json!({ "id": u.id, "name": u.display_name, "icon": u.icon }))
                .collect::<Vec<_>>(),
        }),
    ))
}

/// The page text for a sign-in failure, or the error itself if it is not one.
fn failure(page: &Page, e: Error) -> Result<String, Error> {
    match e {
        Error::BadCredentials => Ok(page.text("bad_credentials").to_string()),
        Error::SeveralAccounts(_) => Ok(page.text("several_accounts").to_string()),
        Error::CodeInvalid | Error::CodeExpired | Error::CodeAttemptsExceeded => {
            Ok(page.text("code_wrong").to_string())
        }
        Error::RateLimited { retry_after } => Ok(format!("{} ({retry_after} s)", page.text("rate_limited"))),
        Error::CaptchaRequired => Ok(page.text("captcha_required").to_string()),
        Error::CaptchaFailed => Ok(page.text("captcha_failed").to_string()),
        Error::Invalid { .. } => Ok(page.text("invalid_mobile").to_string()),
        other => Err(other),
    }
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> ApiResult<Response> {
    let flow = nonempty(&q.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    let method = if q.method.as_deref() == Some("sms") { "sms" } else { "password" };
    let settings = svc.tenants.get(&tenant)?.settings;
    let busy_ip = svc.accounts.attempts().ip_needs_captcha(&tenant, &settings.sign_in, &peer.ip().to_string())?;
    let captcha = challenge_if(&svc, &tenant, busy_ip, settings.sign_in.captcha_difficulty)?;
    render(&svc, &tenant, &page, flow, View { method, captcha, ..View::default() })
}

/// A fresh CAPTCHA challenge when `needed`.
fn challenge_if(svc: &AppState, tenant: &str, needed: bool, difficulty: u8) -> ApiResult<Option<Challenge>> {
    Ok(if needed { Some(svc.accounts.captchas().issue(tenant, difficulty)?) } else { None })
}

fn csrf_refused(svc: &AppState, page: &Page) -> Response {
    page.message(svc, StatusCode::FORBIDDEN, "error", page.text("csrf"), Some("csrf"))
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<LoginForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(csrf_refused(&svc, &page));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let client = flow
        .and_then(|id| request::load_flow(&svc.store, &tenant, id, svc.now()).ok().flatten())
        .map(|f| f.request.client_id);
    let attempt = Attempt { ip: &ip, captcha: form.captcha.as_deref(), client: client.as_deref() };
    match svc.accounts.sign_in(&tenant, &settings, &form.identifier, &form.password, &attempt).await {
        Ok(signed) => {
            signed_in::complete(&svc, &tenant, &headers, &origin(&headers, Some(peer)), flow, signed, &page).await
        }
        Err(e) => {
            let error = Some(failure(&page, e)?);
            let due = svc.accounts.captcha_due(&tenant, &settings, &form.identifier, &ip)?;
            let captcha = challenge_if(&svc, &tenant, due, settings.sign_in.captcha_difficulty)?;
            render(
                &svc,
                &tenant,
                &page,
                flow,
                View { method: "password", identifier: &form.identifier, error, captcha, ..View::default() },
            )
        }
    }
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<CodeForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(csrf_refused(&svc, &page));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let (info, error) =
        match svc.accounts.send_sign_in_code(&tenant, &settings, &form.mobile, &ip, page.locale.tag()).await {
            Ok(_) => (Some(page.text("code_sent_if_registered").to_string()), None),
            Err(e) => (None, Some(failure(&page, e)?)),
        };
    render(&svc, &tenant, &page, flow, View { method: "sms", mobile: &form.mobile, info, error, ..View::default() })
}

async fn submit_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<CodeForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(csrf_refused(&svc, &page));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    match svc.accounts.sign_in_with_code(&tenant, &settings, &form.mobile, &form.code) {
        Ok(signed) => {
            signed_in::complete(&svc, &tenant, &headers, &origin(&headers, Some(peer)), flow, signed, &page).await
        }
        Err(e) => {
            let error = Some(failure(&page, e)?);
            render(&svc, &tenant, &page, flow, View { method: "sms", mobile: &form.mobile, error, ..View::default() })
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/login", get(show).post(submit))
        .route("/t/{tenant}/login/code/send", post(send_code))
        .route("/t/{tenant}/login/code", post(submit_code))
}
