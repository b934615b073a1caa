//! 2-step verification on or off (R20, R38), each after the identity check. The
//! core refuses turning it on without a factor to give and sends the notice.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::Value;

use super::{SecurityForm, done, posted_and_proved, record, refused};
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;

async fn set(
    svc: AppState,
    tenant: String,
    peer: SocketAddr,
    headers: HeaderMap,
    form: SecurityForm,
    on: bool,
) -> ApiResult<Response> {
    let (page, account) = match posted_and_proved(&svc, &tenant, &headers, &form).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let enrolled = svc.enrolled(&tenant, &account.id)?;
    match svc.accounts.set_two_step(&tenant, &account.id, on, &enrolled, page.locale.tag()).await {
        Ok(changed) => {
            if changed {
                let action = if on { "two_step_enabled" } else { "two_step_disabled" };
                record(&svc, &tenant, &account.id, action, None, &peer.ip().to_string(), Value::Null);
                svc.store.commit().await?;
            }
            Ok(done(&page, &tenant, if on { "two_step_on" } else { "two_step_off" }))
        }
        Err(e) => refused(&svc, &tenant, &page, &account, e),
    }
}

/// Turns 2-step verification on.
async fn on(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    set(svc, tenant, peer, headers, form, true).await
}

/// Turns 2-step verification off.
async fn off(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    set(svc, tenant, peer, headers, form, false).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security/two-step/on", post(on))
        .route("/t/{tenant}/account/security/two-step/off", post(off))
}
