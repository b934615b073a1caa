//! 2-step verification on or off (R20, R38), each after the identity check. The
//! core refuses turning it on without a factor to give and sends the notice.

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use super::{SecurityForm, answer, done, who};
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ClientIp, HolderForm};

async fn set(svc: AppState, ip: String, posted: HolderForm<SecurityForm>, on: bool) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let set = svc.security.set_two_step(&holder.tenant, who(page, holder, &ip), &form.current_password, on).await;
    answer(&svc, &posted, set.map(|()| done(page, &holder.tenant, if on { "two_step_on" } else { "two_step_off" })))
        .await
}

/// Turns 2-step verification on.
async fn on(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    set(svc, ip, posted, true).await
}

/// Turns 2-step verification off.
async fn off(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    set(svc, ip, posted, false).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security/two-step/on", post(on))
        .route("/t/{tenant}/account/security/two-step/off", post(off))
}
