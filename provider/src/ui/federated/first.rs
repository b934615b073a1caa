//! The first sign-in with an upstream subject (R17): create an account (if the
//! upstream allows it), or link an existing account after proving it is yours, by
//! its password or by a code to the email/mobile the upstream verified. Then, if the
//! tenant requires a mobile or email the account lacks, add it with a code.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::account::mask;
use latchkey_core::session::Origin;
use latchkey_core::settings::RequireContact;
use latchkey_core::signin::{FederatedPending, FederatedStep};
use serde::Deserialize;
use serde_json::json;

use super::answer;
use crate::state::{AppState, Services};
use crate::ui::signed_in::Held;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{FormBody, cookie, origin};
use crate::web::page::Page;
use crate::web::paths;

#[derive(Deserialize, Default)]
struct Form {
    csrf: Option<String>,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

/// The browser's unfinished third-party sign-in.
async fn pending_of(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Option<FederatedPending>> {
    let Some(token) = cookie(headers, cookies::FEDERATED_PENDING) else { return Ok(None) };
    Ok(svc.signins.federated_pending(tenant, &token).await?)
}

/// The page for a browser whose pending third-party sign-in is gone.
pub(super) fn expired(svc: &Services, tenant: &str, page: &Page) -> Response {
    let text = format!("{} /t/{tenant}/login", page.text("sign_in_expired"));
    page.message(svc, StatusCode::BAD_REQUEST, "error", &text, Some("sign_in_expired"))
}

/// The text for a failed step, or the error itself if it is not one.
fn failure(page: &Page, e: Error) -> Result<(StatusCode, String), Error> {
    let key = match e {
        Error::BadCredentials => "bad_credentials",
        Error::CodeInvalid | Error::CodeExpired | Error::CodeAttemptsExceeded => "code_wrong",
        Error::IdentifierTaken(_) => "link_taken",
        Error::SeveralAccounts(_) => "several_accounts",
        Error::CaptchaRequired | Error::CaptchaFailed => "captcha_required",
        Error::Invalid { .. } => "invalid_value",
        Error::RateLimited { retry_after } => {
            return Ok((StatusCode::TOO_MANY_REQUESTS, format!("{} ({retry_after} s)", page.text("rate_limited"))));
        }
        Error::Delivery(_) => "delivery_failed",
        Error::PolicyDenied { .. } | Error::PluginDenied { .. } => "denied_other",
        other => return Err(other),
    };
    Ok((StatusCode::BAD_REQUEST, page.text(key).to_string()))
}

async fn render(
    svc: &Services,
    tenant: &str,
    page: &Page,
    p: &FederatedPending,
    status: StatusCode,
    error: Option<String>,
    info: Option<String>,
) -> ApiResult<Response> {
    let config = svc.upstreams.get(tenant, p.upstream()).await?;
    let base = paths::tenant(tenant, "");
    if p.owes_contact() {
        let rule = svc.tenants.get(tenant).await?.settings.federation.require_contact;
        let kinds: Vec<&str> = match rule {
            RequireContact::Mobile => vec!["mobile"],
            RequireContact::Email => vec!["email"],
            _ => vec!["mobile", "email"],
        };
        return Ok(page.render(
            svc,
            status,
            "federation_contact.html",
            json!({ "base": base, "kinds": kinds, "error": error, "info": info }),
        ));
    }
    let candidate = p.candidate().map(|(kind, value)| mask(kind, value));
    Ok(page.render(
        svc,
        status,
        "federation_first.html",
        json!({
            "base": base, "upstream": config.display_name, "name": p.name(),
            "can_create": config.create_accounts, "candidate": candidate, "error": error, "info": info,
        }),
    ))
}

/// Answers a step of the first sign-in: the page again (with the failure, or
/// "code sent"), a refusal, or on to the next page.
async fn respond(
    svc: &Services,
    tenant: &str,
    page: &Page,
    p: &FederatedPending,
    step: FederatedStep,
) -> ApiResult<Response> {
    match step {
        FederatedStep::Refused(e) => {
            let (status, text) = failure(page, e)?;
            render(svc, tenant, page, p, status, Some(text), None).await
        }
        FederatedStep::Sent => {
            render(svc, tenant, page, p, StatusCode::OK, None, Some(page.text("code_sent").to_string())).await
        }
        FederatedStep::NoCreate => {
            Ok(page.message(svc, StatusCode::FORBIDDEN, "error", page.text("federation_no_create"), Some("refused")))
        }
        FederatedStep::NoCandidate => {
            Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", page.text("federation_no_candidate"), None))
        }
        other => answer(svc, tenant, page, other),
    }
}

/// The page preamble: CSRF, then the pending sign-in; `Err` is the answer to send.
async fn posted(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> ApiResult<Result<(Page, FederatedPending), Response>> {
    let page = Page::new(headers, None);
    if !Page::csrf_ok(headers, csrf) {
        return Ok(Err(page.csrf_refused(svc)));
    }
    Ok(match pending_of(svc, tenant, headers).await? {
        Some(p) => Ok((page, p)),
        None => Err(expired(svc, tenant, &page)),
    })
}

async fn show(State(svc): State<AppState>, Path(tenant): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    let page = Page::new(&headers, None);
    match pending_of(&svc, &tenant, &headers).await? {
        Some(p) => render(&svc, &tenant, &page, &p, StatusCode::OK, None, None).await,
        None => Ok(expired(&svc, &tenant, &page)),
    }
}

/// A posted step's common facts: the page, the pending sign-in and the browser;
/// `Err` is the answer to send.
struct Posted {
    page: Page,
    p: FederatedPending,
    held: Held,
    origin: Origin,
}

async fn posted_step(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
    csrf: Option<&str>,
) -> ApiResult<Result<Posted, Response>> {
    Ok(posted(svc, tenant, headers, csrf).await?.map(|(page, p)| Posted {
        page,
        p,
        held: Held::of(headers),
        origin: origin(headers, Some(peer)),
    }))
}

async fn create(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let next = paths::next_after_sign_in;
    let step = svc.signins.federated_create(&tenant, browser, s.p.clone(), next).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

async fn link_by_password(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let proof = (f.identifier.as_str(), f.password.as_str());
    let next = paths::next_after_sign_in;
    let step = svc.signins.federated_link_by_password(&tenant, browser, s.p.clone(), proof, next).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

async fn send_link_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let step = svc.signins.federated_send_link_code(&tenant, browser, &s.p).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

async fn link_by_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let next = paths::next_after_sign_in;
    let step = svc.signins.federated_link_by_code(&tenant, browser, s.p.clone(), &f.code, next).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

async fn send_contact_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let contact = (f.kind.as_str(), f.value.as_str());
    let step = svc.signins.federated_send_contact_code(&tenant, browser, &s.p, contact).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

async fn add_contact(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let s = match posted_step(&svc, &tenant, &headers, peer, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let browser = s.held.browser(&s.origin, &s.page);
    let contact = (f.kind.as_str(), f.value.as_str(), f.code.as_str());
    let next = paths::next_after_sign_in;
    let step = svc.signins.federated_add_contact(&tenant, browser, s.p.clone(), contact, next).await?;
    respond(&svc, &tenant, &s.page, &s.p, step).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/federation/first", get(show))
        .route("/t/{tenant}/federation/first/create", post(create))
        .route("/t/{tenant}/federation/first/link", post(link_by_password))
        .route("/t/{tenant}/federation/first/code/send", post(send_link_code))
        .route("/t/{tenant}/federation/first/code", post(link_by_code))
        .route("/t/{tenant}/federation/contact", get(show).post(add_contact))
        .route("/t/{tenant}/federation/contact/send", post(send_contact_code))
}
