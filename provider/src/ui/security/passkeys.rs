//! Passkeys (R20, R38): the page's script adds one through two JSON calls around
//! `navigator.credentials.create` (the first after the identity check); the contacts
//! are told. A passkey is removed with a form, after the identity check.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use latchkey_core::account::Account;
use latchkey_core::account::security::Holder as Who;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SecurityForm, answer, done, who};
use crate::state::{AppState, Services};
use crate::web::cookies;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ClientIp, HolderForm};
use crate::web::http::JsonBody;
use crate::web::page::Page;

/// The header the page's script puts its CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

/// Starts adding a passkey.
#[derive(Deserialize)]
struct StartBody {
    /// The CSRF token, if not in the `X-CSRF-Token` header.
    csrf: Option<String>,
    /// The identity check.
    #[serde(default)]
    current_password: String,
    ui_locales: Option<String>,
}

/// Finishes adding a passkey.
#[derive(Deserialize)]
struct FinishBody {
    csrf: Option<String>,
    /// The id `start` answered with; single use.
    #[serde(default)]
    ceremony: String,
    /// The browser's `RegisterPublicKeyCredential` (what `credential.toJSON()` gives).
    #[serde(default)]
    credential: Value,
    /// At most 64 characters, no control characters; empty is "Passkey".
    #[serde(default)]
    label: String,
    ui_locales: Option<String>,
}

/// The CSRF check (header or body) and the session's account, for the JSON calls.
async fn json_holder(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    ui_locales: Option<&str>,
    csrf: Option<&str>,
) -> ApiResult<(Page, Account)> {
    let page = Page::new(headers, ui_locales);
    let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).or(csrf);
    if !Page::csrf_ok(headers, token) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "the page expired; reload it and try again"));
    }
    let Some((_, session)) = cookies::session_of(svc, tenant, headers).await? else {
        return Err(ApiError::unauthorized("unauthorized", "sign in first"));
    };
    Ok((page, svc.accounts.get(tenant, &session.account_id).await?))
}

/// `{ ceremony, options }`: the options go to `navigator.credentials.create`.
async fn start(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StartBody>,
) -> ApiResult<Json<Value>> {
    let (_, account) = json_holder(&svc, &tenant, &headers, body.ui_locales.as_deref(), body.csrf.as_deref()).await?;
    let rp = svc.relying_party(&tenant).await?;
    let (ceremony, options) = svc.security.start_passkey(&tenant, &rp, &account, &body.current_password).await?;
    Ok(Json(json!({ "ceremony": ceremony, "options": options })))
}

/// Stores the new passkey, tells the contacts and answers `{ passkey }`.
async fn finish(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<FinishBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (page, account) =
        json_holder(&svc, &tenant, &headers, body.ui_locales.as_deref(), body.csrf.as_deref()).await?;
    let rp = svc.relying_party(&tenant).await?;
    let who = Who { account: &account, ip: &ip, locale: page.locale.tag() };
    let info = svc.security.finish_passkey(&tenant, &rp, who, &body.ceremony, body.credential, &body.label).await?;
    Ok((StatusCode::CREATED, Json(json!({ "passkey": info }))))
}

/// Removes one passkey, after the identity check.
async fn remove(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let who = who(page, holder, &ip);
    let removed = svc.security.remove_passkey(&holder.tenant, who, &form.current_password, &form.id).await;
    answer(&svc, &posted, removed.map(|()| done(page, &holder.tenant, "passkey_removed"))).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security/passkeys/start", post(start))
        .route("/t/{tenant}/account/security/passkeys/finish", post(finish))
        .route("/t/{tenant}/account/security/passkeys/remove", post(remove))
}
