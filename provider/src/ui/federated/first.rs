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
use latchkey_core::account::channels::{CodeTarget, default_channel};
use latchkey_core::account::password::Proof;
use latchkey_core::account::signin::Attempt;
use latchkey_core::account::{Kind, mask};
use latchkey_core::federation::pending::{self, FederatedSignIn};
use latchkey_core::settings::RequireContact;
use serde::Deserialize;
use serde_json::json;

use super::proceed;
use crate::state::{AppState, Services};
use crate::ui::signed_in;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{FormBody, cookie, origin};
use crate::web::page::Page;

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

/// The browser's unfinished third-party sign-in: (cookie value, record).
fn pending_of(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Option<(String, FederatedSignIn)>> {
    let Some(token) = cookie(headers, cookies::FEDERATED_PENDING) else { return Ok(None) };
    Ok(pending::get(&svc.store, tenant, &token, svc.now())?.map(|p| (token, p)))
}

fn expired(svc: &Services, tenant: &str, page: &Page) -> Response {
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

fn render(
    svc: &Services,
    tenant: &str,
    page: &Page,
    p: &FederatedSignIn,
    status: StatusCode,
    error: Option<String>,
    info: Option<String>,
) -> ApiResult<Response> {
    let config = svc.upstreams.get(tenant, &p.identity.upstream)?;
    let base = format!("/t/{tenant}");
    if p.account_id.is_some() {
        let rule = svc.tenants.get(tenant)?.settings.federation.require_contact;
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
    let candidate = p.candidate.as_ref().map(|(_, kind, value)| mask(*kind, value));
    Ok(page.render(
        svc,
        status,
        "federation_first.html",
        json!({
            "base": base, "upstream": config.display_name, "name": p.identity.name,
            "can_create": config.create_accounts, "candidate": candidate, "error": error, "info": info,
        }),
    ))
}

/// The page again with the text for a failed step (a 4xx), or the error itself.
fn refused(svc: &Services, tenant: &str, page: &Page, p: &FederatedSignIn, e: Error) -> ApiResult<Response> {
    let (status, text) = failure(page, e)?;
    render(svc, tenant, page, p, status, Some(text), None)
}

/// The page again after sending a code: "code sent", or why not.
fn sent_or_refused(
    svc: &Services,
    tenant: &str,
    page: &Page,
    p: &FederatedSignIn,
    sent: Result<(), Error>,
) -> ApiResult<Response> {
    match sent {
        Ok(()) => render(svc, tenant, page, p, StatusCode::OK, None, Some(page.text("code_sent").to_string())),
        Err(e) => refused(svc, tenant, page, p, e),
    }
}

/// The page preamble: CSRF, then the pending sign-in; `Err` is the answer to send.
fn posted(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> ApiResult<Result<(Page, String, FederatedSignIn), Response>> {
    let page = Page::new(headers, None);
    if !Page::csrf_ok(headers, csrf) {
        return Ok(Err(page.csrf_refused(svc)));
    }
    Ok(match pending_of(svc, tenant, headers)? {
        Some((token, p)) => Ok((page, token, p)),
        None => Err(expired(svc, tenant, &page)),
    })
}

async fn show(State(svc): State<AppState>, Path(tenant): Path<String>, headers: HeaderMap) -> ApiResult<Response> {
    let page = Page::new(&headers, None);
    match pending_of(&svc, &tenant, &headers)? {
        Some((_, p)) => render(&svc, &tenant, &page, &p, StatusCode::OK, None, None),
        None => Ok(expired(&svc, &tenant, &page)),
    }
}

async fn create(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, token, p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    if p.account_id.is_some() || !svc.upstreams.get(&tenant, &p.identity.upstream)?.create_accounts {
        return Ok(page.message(
            &svc,
            StatusCode::FORBIDDEN,
            "error",
            page.text("federation_no_create"),
            Some("refused"),
        ));
    }
    let account = svc.accounts.create_federated(&tenant, &p.identity)?;
    let detail = json!({ "upstream": p.identity.upstream });
    signed_in::record(
        &svc,
        &tenant,
        &account.id,
        "federated_account_created",
        &origin(&headers, Some(peer)),
        None,
        detail,
    )?;
    proceed(&svc, &tenant, &headers, peer, &token, p, account, &page).await
}

async fn link_by_password(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, token, mut p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let attempt = Attempt { ip: &ip, captcha: None, client: None };
    let signed = match svc.accounts.sign_in(&tenant, &settings, &f.identifier, &f.password, &attempt).await {
        Ok(s) => s,
        Err(e) => return refused(&svc, &tenant, &page, &p, e),
    };
    linked(&svc, &tenant, &headers, peer, &p, &signed.account.id, &page).await?;
    p.amr.push("pwd".into());
    proceed(&svc, &tenant, &headers, peer, &token, p, signed.account, &page).await
}

/// Links the pending identity to `account_id` (its contacts are told) and records it.
async fn linked(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
    p: &FederatedSignIn,
    account_id: &str,
    page: &Page,
) -> ApiResult<()> {
    let upstream = &p.identity.upstream;
    let name = svc.upstreams.get(tenant, upstream).map_or_else(|_| upstream.clone(), |u| u.display_name);
    svc.accounts.link_federated(tenant, account_id, &p.identity, &name, page.locale.tag()).await?;
    let detail = json!({ "upstream": p.identity.upstream });
    signed_in::record(svc, tenant, account_id, "federated_linked", &origin(headers, Some(peer)), None, detail)?;
    Ok(())
}

async fn send_link_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, _, p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let Some((account_id, _, value)) = p.candidate.clone() else {
        return Ok(page.message(&svc, StatusCode::BAD_REQUEST, "error", page.text("federation_no_candidate"), None));
    };
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let sent = svc.accounts.send_identity_code(&tenant, &settings, &account_id, &value, &ip, page.locale.tag()).await;
    sent_or_refused(&svc, &tenant, &page, &p, sent.map(|_| ()))
}

async fn link_by_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, token, p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let Some((account_id, _, value)) = p.candidate.clone() else {
        return Ok(page.message(&svc, StatusCode::BAD_REQUEST, "error", page.text("federation_no_candidate"), None));
    };
    let settings = svc.tenants.get(&tenant)?.settings;
    let account = svc.accounts.get(&tenant, &account_id)?;
    if let Err(e) =
        svc.accounts.prove(&tenant, &settings, &account, Proof::Code { address: &value, code: &f.code }).await
    {
        return refused(&svc, &tenant, &page, &p, e);
    }
    linked(&svc, &tenant, &headers, peer, &p, &account_id, &page).await?;
    proceed(&svc, &tenant, &headers, peer, &token, p, account, &page).await
}

async fn send_contact_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, _, p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let (Some(account_id), Some(kind)) = (p.account_id.clone(), Kind::from_name(&f.kind)) else {
        return Ok(expired(&svc, &tenant, &page));
    };
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let target = CodeTarget::New(f.value.clone());
    let sent = svc
        .accounts
        .send_channel_code(&tenant, &settings, &account_id, kind, target, default_channel(kind), &ip, page.locale.tag())
        .await;
    sent_or_refused(&svc, &tenant, &page, &p, sent.map(|_| ()))
}

async fn add_contact(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<Form>,
) -> ApiResult<Response> {
    let (page, token, p) = match posted(&svc, &tenant, &headers, f.csrf.as_deref())? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let (Some(account_id), Some(kind)) = (p.account_id.clone(), Kind::from_name(&f.kind)) else {
        return Ok(expired(&svc, &tenant, &page));
    };
    let settings = svc.tenants.get(&tenant)?.settings;
    let changed = svc
        .accounts
        .add_first_contact(&tenant, &settings, &account_id, kind, &f.value, &f.code, page.locale.tag())
        .await;
    match changed {
        Ok(account) => proceed(&svc, &tenant, &headers, peer, &token, p, account, &page).await,
        Err(e) => refused(&svc, &tenant, &page, &p, e),
    }
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
