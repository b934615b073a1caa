//! The second step of a sign-in (R20): a CAPTCHA a tenant plugin asked for (R19),
//! then a second factor (authenticator app, passkey, SMS or email code, recovery
//! code), with "remember this device". Wrong answers count against the account's
//! failure limits and end the sign-in after five.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::account::mask;
use latchkey_core::account::second_factor::Factor;
use latchkey_core::captcha::Challenge;
use latchkey_core::settings::TenantSettings;
use latchkey_core::signin::{Answered, SecondStep};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::ui::signed_in::{self, Held};
use crate::web::cookies;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::{FormBody, JsonBody, cookie, origin};
use crate::web::page::Page;
use crate::web::paths;

#[derive(Deserialize)]
struct MethodQuery {
    method: Option<String>,
}

#[derive(Deserialize)]
struct AnswerForm {
    csrf: Option<String>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    captcha: Option<String>,
    remember: Option<String>,
}

#[derive(Deserialize)]
struct PasskeyFinish {
    csrf: Option<String>,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: Value,
    #[serde(default)]
    remember: bool,
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

/// The browser's live sign-in owing a second step.
async fn pending_of(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Option<SecondStep>> {
    let Some(token) = cookie(headers, cookies::PENDING) else { return Ok(None) };
    Ok(svc.signins.pending(tenant, &token).await?)
}

/// The start of every form of the second step: page, CSRF, then the sign-in it
/// answers (else "expired"). `Err` is the answer to send.
async fn posted(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> ApiResult<Result<(Page, SecondStep), Response>> {
    let page = Page::new(headers, None);
    if !Page::csrf_ok(headers, csrf) {
        return Ok(Err(page.csrf_refused(svc)));
    }
    Ok(match pending_of(svc, tenant, headers).await? {
        Some(step) => Ok((page, step)),
        None => Err(expired(svc, tenant, &page)),
    })
}

fn expired(svc: &Services, tenant: &str, page: &Page) -> Response {
    let text = format!("{} /t/{tenant}/login", page.text("sign_in_expired"));
    page.message(svc, StatusCode::BAD_REQUEST, "error", &text, Some("sign_in_expired"))
}

/// What the page shows.
struct View<'a> {
    method: Option<Factor>,
    error: Option<String>,
    info: Option<String>,
    captcha: Option<Challenge>,
    settings: &'a TenantSettings,
}

async fn render(svc: &Services, tenant: &str, page: &Page, p: &SecondStep, v: View<'_>) -> ApiResult<Response> {
    let factors = &p.methods;
    let method = v.method.filter(|m| factors.contains(m)).or(factors.first().copied());
    let to = method.and_then(Factor::channel).and_then(|k| p.account.code_channel(k)).map(|b| mask(b.kind, &b.value));
    let captcha = match (p.owes_captcha(), v.captcha) {
        (true, None) => Some(svc.accounts.captchas().issue(tenant, v.settings.sign_in.captcha_difficulty).await?),
        (_, c) => c,
    };
    let status = if v.error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let base = paths::tenant(tenant, "");
    Ok(page.render(
        svc,
        status,
        "verify.html",
        json!({
            "base": base, "step": if p.owes_captcha() { "captcha" } else { "factor" },
            "methods": factors.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "method": method.map(Factor::as_str), "to": to, "may_remember": p.may_remember(),
            "remember_days": v.settings.sign_in.remember_device_days,
            "error": v.error, "info": v.info, "captcha": captcha,
            "captcha_working": page.text("captcha_working"), "captcha_done": page.text("captcha_done"),
            "captcha_noscript": page.text("captcha_noscript"),
            "passkey_start": format!("{base}/login/verify/passkey/start"),
            "passkey_finish": format!("{base}/login/verify/passkey/finish"),
        }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<MethodQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, None);
    let Some(p) = pending_of(&svc, &tenant, &headers).await? else { return Ok(expired(&svc, &tenant, &page)) };
    let settings = svc.tenants.get(&tenant).await?.settings;
    let method = q.method.as_deref().and_then(Factor::parse);
    render(&svc, &tenant, &page, &p, View { method, error: None, info: None, captcha: None, settings: &settings }).await
}

async fn answer(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<AnswerForm>,
) -> ApiResult<Response> {
    let (page, p) = match posted(&svc, &tenant, &headers, form.csrf.as_deref()).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let from = origin(&headers, Some(peer));
    let held = Held::of(&headers);
    let browser = held.browser(&from, &page);
    let (method, answered) = if p.owes_captcha() {
        let answer = form.captcha.as_deref().unwrap_or("");
        (None, svc.signins.solve_captcha(&tenant, browser, p, answer).await?)
    } else {
        let Some(factor) = Factor::parse(&form.method) else {
            return Err(ApiError::bad_request("invalid_request", "unknown second-factor method"));
        };
        let remember = form.remember.is_some();
        let answered = svc.signins.answer_factor(&tenant, browser, p, factor, &form.code, remember).await?;
        (Some(factor), answered)
    };
    match answered {
        Answered::SignedIn(done) => Ok(signed_in::started(&svc, &tenant, &page, done)),
        Answered::Expired => Ok(expired(&svc, &tenant, &page)),
        Answered::Again { step, error } => {
            let settings = svc.tenants.get(&tenant).await?.settings;
            let error = error.map(|e| failure(&page, e)).transpose()?;
            let view = View { method, error, info: None, captcha: None, settings: &settings };
            render(&svc, &tenant, &page, &step, view).await
        }
    }
}

/// The page text for a failed answer, or the error itself if it is not one.
fn failure(page: &Page, e: Error) -> Result<String, Error> {
    match e {
        Error::CodeInvalid | Error::CodeExpired | Error::CodeAttemptsExceeded | Error::PasskeyRejected => {
            Ok(page.text("code_wrong").to_string())
        }
        Error::NotFound(_) => Ok(page.text("code_wrong").to_string()),
        Error::RateLimited { retry_after } => Ok(format!("{} ({retry_after} s)", page.text("rate_limited"))),
        Error::CaptchaRequired | Error::CaptchaFailed => Ok(page.text("captcha_failed").to_string()),
        Error::Delivery(_) => Ok(page.text("delivery_failed").to_string()),
        other => Err(other),
    }
}

/// Sends a code to the account's verified mobile or email.
async fn send(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<AnswerForm>,
) -> ApiResult<Response> {
    let (page, p) = match posted(&svc, &tenant, &headers, form.csrf.as_deref()).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let factor = Factor::parse(&form.method);
    let Some(kind) = factor.and_then(Factor::channel).filter(|_| !p.owes_captcha()) else {
        return Err(ApiError::bad_request("invalid_request", "codes go by sms or email"));
    };
    let ip = peer.ip().to_string();
    let sent = svc.signins.send_code(&tenant, &p, kind, &ip, page.locale.tag()).await;
    let settings = svc.tenants.get(&tenant).await?.settings;
    let (info, error) = match sent {
        Ok(_) => (Some(page.text("code_sent").to_string()), None),
        Err(e) => (None, Some(failure(&page, e)?)),
    };
    render(&svc, &tenant, &page, &p, View { method: factor, error, info, captcha: None, settings: &settings }).await
}

async fn passkey_start(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CsrfOnly>,
) -> ApiResult<Response> {
    if !Page::csrf_ok(&headers, body.csrf.as_deref()) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "the form is stale; reload the page"));
    }
    let Some(p) = pending_of(&svc, &tenant, &headers).await? else {
        return Err(ApiError::bad_request("sign_in_expired", "the sign-in expired; start again"));
    };
    if p.owes_captcha() {
        return Err(Error::CaptchaRequired.into());
    }
    let rp = svc.relying_party(&tenant).await?;
    let (ceremony, options) = svc.signins.start_passkey(&tenant, &rp, &p).await?;
    Ok(Json(json!({ "ceremony": ceremony, "options": options })).into_response())
}

async fn passkey_finish(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PasskeyFinish>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, None);
    if !Page::csrf_ok(&headers, body.csrf.as_deref()) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "the form is stale; reload the page"));
    }
    let Some(p) = pending_of(&svc, &tenant, &headers).await? else {
        return Err(ApiError::bad_request("sign_in_expired", "the sign-in expired; start again"));
    };
    let from = origin(&headers, Some(peer));
    let rp = svc.relying_party(&tenant).await?;
    let held = Held::of(&headers);
    let browser = held.browser(&from, &page);
    let (ceremony, credential, remember) = (&body.ceremony, body.credential, body.remember);
    let done = svc.signins.answer_passkey(&tenant, browser, p, &rp, ceremony, credential, remember).await?;
    Ok(signed_in::for_script(signed_in::started(&svc, &tenant, &page, done)))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/login/verify", get(show).post(answer))
        .route("/t/{tenant}/login/verify/send", post(send))
        .route("/t/{tenant}/login/verify/passkey/start", post(passkey_start))
        .route("/t/{tenant}/login/verify/passkey/finish", post(passkey_finish))
}
