//! The device page (P8, RFC 8628 §3.3): the person enters the user code a device
//! shows (or arrives with it in `?user_code=`), sees which app asks, and allows or
//! denies. Allowing binds the device to the account (R13). It needs the browser's
//! session in the tenant; without one it links to the sign-in page. Every typed
//! code goes through `Devices::check_user_code` first, which throttles wrong codes
//! per account and per IP (RFC 8628 §5.1).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::Error;
use latchkey_core::device::guesses::Guesser;
use latchkey_core::device::{Approval, LIMIT_REACHED, PendingView};
use latchkey_core::session::Session;
use serde::Deserialize;
use serde_json::json;

use crate::state::{AppState, Services};
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::page::Page;
use crate::web::paths;

#[derive(Deserialize)]
struct DeviceQuery {
    user_code: Option<String>,
    ui_locales: Option<String>,
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: Option<String>,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    decision: String,
    ui_locales: Option<String>,
}

fn action(tenant: &str) -> String {
    paths::tenant(tenant, paths::DEVICE)
}

/// The page text for a user code that cannot be decided.
fn code_error(page: &Page, e: &Error) -> Option<&'static str> {
    match e {
        Error::CodeInvalid => Some(page.text("device_code_invalid")),
        Error::CodeExpired => Some(page.text("device_code_expired")),
        _ => None,
    }
}

/// Checks a typed code (throttled); `Err` is the page to answer with instead.
async fn check(
    svc: &Services,
    tenant: &str,
    page: &Page,
    session: &Session,
    peer: SocketAddr,
    typed: &str,
) -> ApiResult<Result<PendingView, Response>> {
    let ip = peer.ip().to_string();
    let who = Guesser { account_id: &session.account_id, ip: &ip };
    match svc.devices.check_typed_code(tenant, &who, typed, svc.now()).await {
        Ok(p) => Ok(Ok(p)),
        Err(Error::RateLimited { retry_after }) => {
            let text = page.text("device_code_throttled");
            let mut resp = enter(svc, tenant, page, StatusCode::TOO_MANY_REQUESTS, typed, Some(text));
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            Ok(Err(resp))
        }
        Err(e) => match code_error(page, &e) {
            Some(text) => Ok(Err(enter(svc, tenant, page, StatusCode::BAD_REQUEST, typed, Some(text)))),
            None => Err(e.into()),
        },
    }
}

fn enter(svc: &Services, tenant: &str, page: &Page, status: StatusCode, typed: &str, error: Option<&str>) -> Response {
    page.render(
        svc,
        status,
        "device.html",
        json!({ "mode": "enter", "action": action(tenant), "user_code": typed, "error": error }),
    )
}

fn sign_in_first(svc: &Services, tenant: &str, page: &Page) -> Response {
    let login = page.keep_locale(&paths::tenant(tenant, paths::LOGIN));
    page.render(svc, StatusCode::OK, "device.html", json!({ "mode": "signin", "login": login }))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<DeviceQuery>,
) -> ApiResult<Response> {
    svc.tenants.get(&tenant).await?;
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let Some((_, session)) = cookies::session_of(&svc, &tenant, &headers).await? else {
        return Ok(sign_in_first(&svc, &tenant, &page));
    };
    let typed = q.user_code.unwrap_or_default();
    if typed.trim().is_empty() {
        return Ok(enter(&svc, &tenant, &page, StatusCode::OK, "", None));
    }
    let pending = match check(&svc, &tenant, &page, &session, peer, &typed).await? {
        Ok(p) => p,
        Err(resp) => return Ok(resp),
    };
    let client_name = svc.clients.get(&tenant, &pending.client_id).await.map(|c| c.name).unwrap_or(pending.client_id);
    let scopes: Vec<String> = pending
        .scopes
        .iter()
        .map(|s| match page.text(&format!("scope_{s}")) {
            "" => s.clone(),
            t => t.to_string(),
        })
        .collect();
    Ok(page.render(
        &svc,
        StatusCode::OK,
        "device.html",
        json!({
            "mode": "confirm", "action": action(&tenant), "client_name": client_name,
            "user_code": pending.user_code, "device_name": pending.device_name, "scopes": scopes,
        }),
    ))
}

fn approval(session: &Session) -> Approval {
    Approval {
        account_id: session.account_id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
        sid: session.sid.clone(),
    }
}

async fn decide(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<DecisionForm>,
) -> ApiResult<Response> {
    svc.tenants.get(&tenant).await?;
    let page = Page::new(&headers, form.ui_locales.as_deref().filter(|l| !l.is_empty()));
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.csrf_refused(&svc));
    }
    let Some((_, session)) = cookies::session_of(&svc, &tenant, &headers).await? else {
        return Ok(sign_in_first(&svc, &tenant, &page));
    };
    let pending = match check(&svc, &tenant, &page, &session, peer, &form.user_code).await? {
        Ok(p) => p,
        Err(resp) => return Ok(resp),
    };
    let now = svc.now();
    let result = if form.decision == "allow" {
        let client_name = svc.clients.get(&tenant, &pending.client_id).await.map(|c| c.name).unwrap_or_default();
        let dev = svc.developers.facts(&tenant, &session.account_id).await?;
        let facts = crate::web::http::facts(&headers, None, None);
        svc.devices
            .approve_durably(&svc.policy, &facts, &tenant, &form.user_code, approval(&session), &dev, &client_name, now)
            .await
            .map(|_| "device_approved")
    } else {
        svc.devices.deny_durably(&tenant, &form.user_code, now).await.map(|()| "device_denied")
    };
    match result {
        Ok(done) => Ok(page.message(&svc, StatusCode::OK, "device_title", page.text(done), None)),
        Err(Error::PluginDenied { reason, message }) => {
            Ok(page.message(&svc, StatusCode::FORBIDDEN, "error", &message, Some(&reason)))
        }
        Err(Error::PolicyDenied { reason }) => {
            let text = if reason == LIMIT_REACHED { page.text("device_limit") } else { page.text("device_refused") };
            Ok(page.message(&svc, StatusCode::FORBIDDEN, "error", text, Some(&reason)))
        }
        Err(e) => match code_error(&page, &e) {
            Some(text) => Ok(enter(&svc, &tenant, &page, StatusCode::BAD_REQUEST, &form.user_code, Some(text))),
            None => Err(e.into()),
        },
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::DEVICE), get(show).post(decide))
}
