//! Recovery codes (R20): after the identity check, a new set of ten replaces the
//! old one and is shown once, on the answer to the form; never again. The contacts
//! are told (R38).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use latchkey_core::code::Notice;
use serde_json::json;

use super::{SecurityForm, posted_and_proved, record};
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;

/// Makes a new set and shows it.
async fn generate(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    let (page, account) = match posted_and_proved(&svc, &tenant, &headers, &form).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let replaced = svc.recovery_codes.remaining(&tenant, &account.id)?;
    let codes = svc.recovery_codes.generate(&tenant, &account.id)?;
    let detail = json!({ "count": codes.len(), "unused_replaced": replaced });
    record(&svc, &tenant, &account.id, "recovery_codes_generated", None, &peer.ip().to_string(), detail);
    svc.store.commit().await?;
    let notice = Notice::RecoveryCodesGenerated { count: codes.len() };
    svc.accounts.notify(&tenant, &account, notice, page.locale.tag()).await;
    Ok(page.render(
        &svc,
        StatusCode::OK,
        "security_codes.html",
        json!({ "codes": codes, "back": page.keep_locale(&super::home(&tenant)) }),
    ))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/account/security/recovery-codes", post(generate))
}
