//! The account center's JSON API (R22 to R27, R29) under `/t/{tenant}/api/account`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use latchkey_core::account::channels::{CodeTarget, default_channel};
use latchkey_core::account::password::Proof;
use latchkey_core::account::{Account, Accounts, Kind, Roles, mask};
use latchkey_core::code::{Channel, Sent};
use serde::{Deserialize, Serialize};

use crate::api::caller::caller;
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::JsonBody;
use crate::web::page::Page;
use crate::web::paths;

/// A bound mobile or email as the account center shows it (masked).
#[derive(Serialize)]
pub struct ChannelView {
    pub kind: Kind,
    pub value: String,
    pub verified: bool,
    pub roles: Roles,
}

/// The account as its holder sees it (R22, R26).
#[derive(Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub channels: Vec<ChannelView>,
    pub password_changed_at: u64,
    pub created_at: u64,
    /// Ways to prove identity (R27): "password", or a masked recovery channel and
    /// its `channel` number to send a code to.
    pub identity_methods: Vec<IdentityMethod>,
}

#[derive(Serialize)]
pub struct IdentityMethod {
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    /// Index of the channel in `channels`, for `identity-code` and `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<usize>,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id.clone(),
            name: a.name.clone(),
            mobile: a.mobile().map(|b| mask(b.kind, &b.value)),
            email: a.email().map(|b| mask(b.kind, &b.value)),
            channels: a
                .bindings
                .iter()
                .map(|b| ChannelView {
                    kind: b.kind,
                    value: mask(b.kind, &b.value),
                    verified: b.verified,
                    roles: b.roles,
                })
                .collect(),
            password_changed_at: a.password_changed_at,
            created_at: a.created_at,
            identity_methods: Accounts::identity_methods(a)
                .into_iter()
                .map(|(method, address)| {
                    let channel = address.as_deref().and_then(|v| a.bindings.iter().position(|b| b.value == v));
                    let masked = channel.map(|i| mask(a.bindings[i].kind, &a.bindings[i].value));
                    IdentityMethod { method, masked, channel }
                })
                .collect(),
        }
    }
}

fn locale(headers: &HeaderMap) -> &'static str {
    Page::new(headers, None).locale.tag()
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<AccountView>> {
    let c = caller(&svc, &tenant, &headers).await?;
    Ok(Json((&svc.accounts.get(&tenant, &c.account_id).await?).into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityCode {
    /// A recovery channel of the account (its number in `identity_methods`).
    channel: usize,
}

/// The value of the account's channel number `i`.
async fn channel_value(svc: &AppState, tenant: &str, account_id: &str, i: usize) -> ApiResult<String> {
    let a = svc.accounts.get(tenant, account_id).await?;
    a.bindings.get(i).map(|b| b.value.clone()).ok_or_else(|| ApiError::bad_request("invalid_input", "no such channel"))
}

async fn identity_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IdentityCode>,
) -> ApiResult<Json<Sent>> {
    let c = caller(&svc, &tenant, &headers).await?;
    c.may_change_security(&svc)?;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let address = channel_value(&svc, &tenant, &c.account_id, body.channel).await?;
    Ok(Json(accounts.send_identity_code(&c.account_id, &address, &peer.ip().to_string(), locale(&headers)).await?))
}

/// Change password: prove identity with `current_password`, or with `channel` and
/// `code` (a code sent to that recovery channel); then `new_password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: Option<String>,
    channel: Option<usize>,
    code: Option<String>,
    new_password: String,
}

async fn change_password(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ChangePassword>,
) -> ApiResult<StatusCode> {
    let c = caller(&svc, &tenant, &headers).await?;
    c.may_change_security(&svc)?;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let address = match body.channel {
        Some(i) => Some(channel_value(&svc, &tenant, &c.account_id, i).await?),
        None => None,
    };
    let proof = match (&body.current_password, &address, &body.code) {
        (Some(pw), None, None) => Proof::Password(pw),
        (None, Some(address), Some(code)) => Proof::Code { address, code },
        _ => return Err(ApiError::bad_request("invalid_request", "give current_password, or channel and code")),
    };
    accounts.change_password(&c.account_id, proof, &body.new_password, locale(&headers)).await?;
    // Other sessions end (R23); this one stays.
    svc.sessions.sign_out_others(&tenant, &c.account_id, c.sid.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn kind_of(s: &str) -> ApiResult<Kind> {
    Kind::from_name(s).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such channel kind"))
}

/// Step codes of a channel change: `{"target": "current"}` or `{"target": "new", "value": ...}`.
/// `channel` is optional: `sms` (the default) or `voice` for a mobile (R37), `email`
/// (the default) for an email; any other pairing is refused as `invalid_input`.
#[derive(Deserialize)]
#[serde(tag = "target", rename_all = "snake_case", deny_unknown_fields)]
enum ChannelCode {
    Current { channel: Option<Channel> },
    New { value: String, channel: Option<Channel> },
}

async fn channel_code(
    State(svc): State<AppState>,
    Path((tenant, kind)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ChannelCode>,
) -> ApiResult<Json<Sent>> {
    let kind = kind_of(&kind)?;
    let c = caller(&svc, &tenant, &headers).await?;
    c.may_change_security(&svc)?;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let (target, channel) = match body {
        ChannelCode::Current { channel } => (CodeTarget::Current, channel),
        ChannelCode::New { value, channel } => (CodeTarget::New(value), channel),
    };
    let channel = channel.unwrap_or(default_channel(kind));
    let ip = peer.ip().to_string();
    let sent = accounts.send_channel_code(&c.account_id, kind, target, channel, &ip, locale(&headers));
    Ok(Json(sent.await?))
}

/// The address of the recovery channel an identity code went to, if the body names one.
async fn identity_address(
    svc: &AppState,
    tenant: &str,
    account_id: &str,
    i: Option<usize>,
) -> ApiResult<Option<String>> {
    match i {
        Some(i) => channel_value(svc, tenant, account_id, i).await.map(Some),
        None => Ok(None),
    }
}

/// The proof of identity a body gives: `current_password`, or `identity_channel` and
/// `identity_code` (a code from `identity-code`); none at all is `None`.
fn proof_of<'a>(
    current_password: Option<&'a str>,
    address: Option<&'a str>,
    code: Option<&'a str>,
) -> ApiResult<Option<Proof<'a>>> {
    match (current_password, address, code) {
        (None, None, None) => Ok(None),
        (Some(pw), None, None) => Ok(Some(Proof::Password(pw))),
        (None, Some(address), Some(code)) => Ok(Some(Proof::Code { address, code })),
        _ => Err(ApiError::bad_request(
            "invalid_request",
            "give current_password, or identity_channel and identity_code",
        )),
    }
}

/// Change (or add) the mobile/email: `current_code` (when there is a current value),
/// the new `value` and its `code`. Adding (no current value) also needs a proof of
/// identity: `current_password`, or `identity_channel` and `identity_code`; without
/// one, `403 proof_required` (issue 10 item 1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeChannel {
    current_code: Option<String>,
    current_password: Option<String>,
    identity_channel: Option<usize>,
    identity_code: Option<String>,
    value: String,
    code: String,
}

async fn change_channel(
    State(svc): State<AppState>,
    Path((tenant, kind)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ChangeChannel>,
) -> ApiResult<Json<AccountView>> {
    let kind = kind_of(&kind)?;
    let c = caller(&svc, &tenant, &headers).await?;
    c.may_change_security(&svc)?;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let address = identity_address(&svc, &tenant, &c.account_id, body.identity_channel).await?;
    let proof = proof_of(body.current_password.as_deref(), address.as_deref(), body.identity_code.as_deref())?;
    let a = accounts
        .change_channel(
            &c.account_id,
            kind,
            body.current_code.as_deref(),
            proof,
            &body.value,
            &body.code,
            locale(&headers),
        )
        .await?;
    Ok(Json((&a).into()))
}

/// A signed-in device (R29).
#[derive(Serialize)]
pub struct SessionView {
    pub sid: String,
    pub clients: Vec<String>,
    pub user_agent: String,
    pub ip: String,
    pub signed_in_at: u64,
    pub last_seen: u64,
    pub current: bool,
}

async fn sessions(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SessionView>>> {
    let c = caller(&svc, &tenant, &headers).await?;
    let list = svc.sessions.list(&tenant, &c.account_id).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionView {
                current: c.sid.as_deref() == Some(s.sid.as_str()),
                sid: s.sid,
                clients: s.clients,
                user_agent: s.user_agent,
                ip: s.ip,
                signed_in_at: s.auth_time,
                last_seen: s.last_seen,
            })
            .collect(),
    ))
}

async fn end_session(
    State(svc): State<AppState>,
    Path((tenant, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let c = caller(&svc, &tenant, &headers).await?;
    if !svc.sessions.sign_out_device(&tenant, &c.account_id, &sid).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such session"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every other device.
async fn end_other_sessions(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let c = caller(&svc, &tenant, &headers).await?;
    let n = svc.sessions.sign_out_others(&tenant, &c.account_id, c.sid.as_deref()).await?;
    Ok(Json(serde_json::json!({ "ended": n })))
}

/// The email to add, and the proof of identity as for adding a channel.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailLink {
    email: String,
    current_password: Option<String>,
    identity_channel: Option<usize>,
    identity_code: Option<String>,
}

/// R5: a link (valid two hours) that adds a security email to an account without one.
/// The proof of identity is given here, when the link is asked for.
async fn email_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<EmailLink>,
) -> ApiResult<Json<Sent>> {
    let c = caller(&svc, &tenant, &headers).await?;
    c.may_change_security(&svc)?;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let address = identity_address(&svc, &tenant, &c.account_id, body.identity_channel).await?;
    let proof = proof_of(body.current_password.as_deref(), address.as_deref(), body.identity_code.as_deref())?;
    let url = format!("{}{}", svc.issuer(&tenant), paths::EMAIL_LINK_PAGE);
    let ip = peer.ip().to_string();
    Ok(Json(accounts.send_email_link(&c.account_id, proof, &body.email, &ip, locale(&headers), &url).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkToken {
    token: String,
}

/// R5: confirms the link (the token proves the mailbox; no session needed).
async fn email_link_confirm(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LinkToken>,
) -> ApiResult<Json<AccountView>> {
    let a = svc.accounts.confirm_email_link(&tenant, &body.token, locale(&headers)).await?;
    Ok(Json((&a).into()))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/api/account", get(show))
        .route("/t/{tenant}/api/account/identity-code", post(identity_code))
        .route("/t/{tenant}/api/account/password", post(change_password))
        .route("/t/{tenant}/api/account/channels/{kind}/code", post(channel_code))
        .route("/t/{tenant}/api/account/channels/{kind}", post(change_channel))
        .route("/t/{tenant}/api/account/sessions", get(sessions).delete(end_other_sessions))
        .route("/t/{tenant}/api/account/sessions/{sid}", delete(end_session))
        .route("/t/{tenant}/api/account/email-link", post(email_link))
        .route("/t/{tenant}/api/account/email-link/confirm", post(email_link_confirm))
}
