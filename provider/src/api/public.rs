//! The public account JSON API for apps: registration (R1 to R3), SMS-code sign-in
//! code (R16), recovery (R34 to R36), all codes through one endpoint (R37), and the
//! CAPTCHA challenges recovery requests answer (R19). Sign-in itself happens on the
//! pages (OIDC).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use latchkey_core::account::recovery::Ask;
use latchkey_core::account::registration::Registration;
use latchkey_core::captcha::Challenge;
use latchkey_core::code::{Channel, Destination, Purpose, Sent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::JsonBody;
use crate::web::page::Page;
use crate::web::paths;

fn locale(headers: &HeaderMap) -> &'static str {
    Page::new(headers, None).locale.tag()
}

/// A code to send: `{"purpose": "register"|"sign_in"|"recover", "channel": "sms"|"voice"|"email", "to": ...}`.
/// For `recover`, `to` may also be an account name or id; the code goes to that
/// account's recovery channel, and the answer is the same whether or not it exists.
/// `recover` also needs `captcha` (R19).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    purpose: String,
    #[serde(default)]
    channel: Option<Channel>,
    to: String,
    /// A solved challenge from `POST /api/captcha`, `"{id}:{nonce}"`; required for
    /// `recover` (`captcha_required`, `captcha_failed`), ignored otherwise.
    #[serde(default)]
    captcha: Option<String>,
}

/// A fresh proof-of-work challenge (R19) at the tenant's difficulty, for apps and
/// scripts: find the smallest decimal `nonce` whose SHA-256 of `"{salt}:{nonce}"`
/// starts with `difficulty` zero bits, then send `"{id}:{nonce}"` as `captcha`
/// before `expires_at`. Each answer works once.
async fn captcha(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Challenge>> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    Ok(Json(accounts.captcha().await?))
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CodeRequest>,
) -> ApiResult<Json<Sent>> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let (ip, locale) = (peer.ip().to_string(), locale(&headers));
    let ask = Ask { ip: &ip, locale, captcha: body.captcha.as_deref() };
    let sent = match Purpose::parse(&body.purpose)? {
        Purpose::Register => {
            let channel =
                body.channel.ok_or_else(|| ApiError::bad_request("invalid_request", "channel is required"))?;
            let to = Destination { channel, address: body.to };
            accounts.send_register_code(&to, &ip, locale).await?
        }
        Purpose::SignIn => accounts.send_sign_in_code(&body.to, &ip, locale).await?,
        Purpose::Recover => accounts.start_recovery(&body.to, &ask).await?,
        _ => return Err(ApiError::bad_request("unknown_purpose", "this purpose belongs to the account API")),
    };
    Ok(Json(sent))
}

async fn register(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(reg): JsonBody<Registration>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let done = accounts.register(&crate::web::http::facts(&headers, Some(peer), None), reg).await?;
    Ok((StatusCode::CREATED, Json(json!({ "account_id": done.account.id }))))
}

/// Forgot account: `{"mobile", "captcha"}`; `captcha` is a solved challenge from
/// `POST /api/captcha` (R19).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MobileRequest {
    mobile: String,
    #[serde(default)]
    captcha: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverFinish {
    identifier: String,
    code: String,
    new_password: String,
}

async fn recover(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RecoverFinish>,
) -> ApiResult<StatusCode> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let account = accounts.finish_recovery(&body.identifier, &body.code, &body.new_password, locale(&headers)).await?;
    svc.sessions.sign_out_others(&tenant, &account, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn account_names(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<MobileRequest>,
) -> ApiResult<Json<Sent>> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: locale(&headers), captcha: body.captcha.as_deref() };
    Ok(Json(accounts.send_account_names(&body.mobile, &ask).await?))
}

/// A recovery link: `{"email", "captcha"}`; `captcha` is a solved challenge from
/// `POST /api/captcha` (R19).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailRequest {
    email: String,
    #[serde(default)]
    captcha: Option<String>,
}

/// Forgot account by id: `{"account_id", "mobile", "captcha"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountById {
    account_id: String,
    /// The account's security mobile, in full.
    mobile: String,
    /// A solved challenge from `POST /api/captcha` (R19).
    #[serde(default)]
    captcha: Option<String>,
}

async fn account_name_by_id(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AccountById>,
) -> ApiResult<Json<Sent>> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: locale(&headers), captcha: body.captcha.as_deref() };
    Ok(Json(accounts.send_account_name_by_id(&body.account_id, &body.mobile, &ask).await?))
}

async fn recover_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<EmailRequest>,
) -> ApiResult<Json<Sent>> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let url = format!("{}{}", svc.issuer(&tenant), paths::RECOVER_LINK_PAGE);
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: locale(&headers), captcha: body.captcha.as_deref() };
    Ok(Json(accounts.start_recovery_link(&body.email, &ask, &url).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverLinkFinish {
    token: String,
    new_password: String,
}

async fn recover_link_finish(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RecoverLinkFinish>,
) -> ApiResult<StatusCode> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let account = accounts.finish_recovery_link(&body.token, &body.new_password, locale(&headers)).await?;
    svc.sessions.sign_out_others(&tenant, &account, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/api/captcha", post(captcha))
        .route("/t/{tenant}/api/codes", post(send_code))
        .route("/t/{tenant}/api/register", post(register))
        .route("/t/{tenant}/api/recover", post(recover))
        .route("/t/{tenant}/api/recover/account-names", post(account_names))
        .route("/t/{tenant}/api/recover/account-by-id", post(account_name_by_id))
        .route("/t/{tenant}/api/recover/link", post(recover_link))
        .route("/t/{tenant}/api/recover/link/finish", post(recover_link_finish))
}
