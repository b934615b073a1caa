//! The sign-in page: any identifier and the password (R15), or an SMS code (R16);
//! then back into the authorization flow that sent the person here (R18).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::captcha::Challenge;
use latchkey_core::signin::{FlowFacts, SignInStep};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::ui::signed_in::{self, Held};
use crate::web::error::ApiResult;
use crate::web::extract::{FlowForm, InFlow};
use crate::web::http::origin;
use crate::web::page::Page;
use crate::web::paths;

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

crate::flow_form!(LoginForm, CodeForm);

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

pub(crate) async fn page_for(svc: &AppState, tenant: &str, headers: &HeaderMap, flow: Option<&str>) -> Page {
    flow_page(svc, tenant, headers, flow).await.0
}

/// The page in the flow's language, and the flow (read once for the whole request).
pub(crate) async fn flow_page(
    svc: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    flow: Option<&str>,
) -> (Page, Option<FlowFacts>) {
    let saved = svc.signins.flow(tenant, flow).await;
    (Page::new(headers, saved.as_ref().and_then(|f| f.ui_locales.as_deref())), saved)
}

async fn render(svc: &AppState, tenant: &str, page: &Page, flow: Option<&str>, view: View<'_>) -> ApiResult<Response> {
    render_in(svc, tenant, page, flow, svc.signins.flow(tenant, flow).await.as_ref(), view).await
}

/// `render` for a flow already read.
async fn render_in(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    flow: Option<&str>,
    saved: Option<&FlowFacts>,
    view: View<'_>,
) -> ApiResult<Response> {
    let t = svc.tenants.get(tenant).await?;
    let client_name = match saved {
        Some(f) => svc.clients.get(tenant, &f.client_id).await.ok().map(|c| c.name),
        None => None,
    };
    let hint = saved.and_then(|f| f.login_hint.clone()).unwrap_or_default();
    let status = if view.error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    Ok(page.render(
        svc,
        status,
        "login.html",
        json!({
            "tenant_name": t.display_name, "client_name": client_name, "flow": flow.unwrap_or(""),
            "identifier": if view.identifier.is_empty() { hint.as_str() } else { view.identifier },
            "mobile": view.mobile, "method": view.method, "error": view.error, "info": view.info,
            "base": paths::tenant(tenant, ""), "captcha": view.captcha,
            "captcha_working": page.text("captcha_working"), "captcha_done": page.text("captcha_done"),
            "captcha_noscript": page.text("captcha_noscript"),
            "upstreams": svc.upstreams.list(tenant).await?.into_iter()
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
    let page = page_for(&svc, &tenant, &headers, flow).await;
    let method = if q.method.as_deref() == Some("sms") { "sms" } else { "password" };
    let settings = svc.tenants.get(&tenant).await?.settings;
    let busy_ip = svc.accounts.attempts().ip_needs_captcha(&tenant, &settings.sign_in, &peer.ip().to_string()).await?;
    let captcha = challenge_if(&svc, &tenant, busy_ip, settings.sign_in.captcha_difficulty).await?;
    render(&svc, &tenant, &page, flow, View { method, captcha, ..View::default() }).await
}

/// A fresh CAPTCHA challenge when `needed`.
async fn challenge_if(svc: &AppState, tenant: &str, needed: bool, difficulty: u8) -> ApiResult<Option<Challenge>> {
    Ok(if needed { Some(svc.accounts.captchas().issue(tenant, difficulty).await?) } else { None })
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FlowForm { page, saved, form }: FlowForm<LoginForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let from = origin(&headers, Some(peer));
    let held = Held::of(&headers);
    let next = paths::next_after_sign_in(&tenant, flow);
    let (identifier, captcha) = (form.identifier.as_str(), form.captcha.as_deref());
    let browser = held.browser(&from, &page);
    let step =
        svc.signins.password(&tenant, browser, saved.as_ref(), identifier, &form.password, captcha, next).await?;
    match step {
        SignInStep::Failed { error, captcha } => {
            let error = Some(failure(&page, error)?);
            let view = View { method: "password", identifier, error, captcha, ..View::default() };
            render_in(&svc, &tenant, &page, flow, saved.as_ref(), view).await
        }
        step => signed_in::render_step(&svc, &tenant, &page, step),
    }
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FlowForm { page, saved, form }: FlowForm<CodeForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let ip = peer.ip().to_string();
    let (info, error) = match svc.signins.send_code_to(&tenant, &form.mobile, &ip, page.locale.tag()).await {
        Ok(_) => (Some(page.text("code_sent_if_registered").to_string()), None),
        Err(e) => (None, Some(failure(&page, e)?)),
    };
    let view = View { method: "sms", mobile: &form.mobile, info, error, ..View::default() };
    render_in(&svc, &tenant, &page, flow, saved.as_ref(), view).await
}

async fn submit_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FlowForm { page, saved, form }: FlowForm<CodeForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let from = origin(&headers, Some(peer));
    let held = Held::of(&headers);
    let next = paths::next_after_sign_in(&tenant, flow);
    let browser = held.browser(&from, &page);
    match svc.signins.code(&tenant, browser, saved.as_ref(), &form.mobile, &form.code, next).await? {
        SignInStep::Failed { error, .. } => {
            let error = Some(failure(&page, error)?);
            let view = View { method: "sms", mobile: &form.mobile, error, ..View::default() };
            render_in(&svc, &tenant, &page, flow, saved.as_ref(), view).await
        }
        step => signed_in::render_step(&svc, &tenant, &page, step),
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/login", get(show).post(submit))
        .route("/t/{tenant}/login/code/send", post(send_code))
        .route("/t/{tenant}/login/code", post(submit_code))
}
