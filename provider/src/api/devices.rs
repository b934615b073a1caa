//! Devices bound to the caller's account (R13, P8) in the account API: list them
//! with the count (sub-devices included), bind one, unbind one. A sub-device names
//! its gateway, a gateway of the same account; a gateway with sub-devices is unbound
//! only after them (`403 refused`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use latchkey_core::device::{Device, NewDevice};
use serde::Serialize;

use crate::api::caller::caller;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::JsonBody;

/// The account's devices and how many count against its limit.
#[derive(Serialize)]
pub struct DevicesView {
    pub count: u64,
    pub devices: Vec<Device>,
}

async fn list(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<DevicesView>> {
    let c = caller(&svc, &tenant, &headers).await?;
    Ok(Json(DevicesView {
        count: svc.devices.count(&tenant, &c.account_id).await?,
        devices: svc.devices.list(&tenant, &c.account_id).await?,
    }))
}

/// Binds a device: `{device_id, name, kind: "direct" | "gateway" | "sub_device", gateway?}`
/// (see `NewDevice` for the rules). `201` with the device; `400` for bad input or an
/// unknown gateway, `409` if the id is bound already, `403 policy_denied` past the limit.
async fn bind(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(new): JsonBody<NewDevice>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    let c = caller(&svc, &tenant, &headers).await?;
    let dev = svc.developers.facts(&tenant, &c.account_id).await?;
    let facts = crate::web::http::facts(&headers, None, None);
    let device = svc.devices.bind_durably(&svc.policy, &facts, &tenant, &c.account_id, &dev, new, svc.now()).await?;
    Ok((StatusCode::CREATED, Json(device)))
}

async fn unbind(
    State(svc): State<AppState>,
    Path((tenant, device_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let c = caller(&svc, &tenant, &headers).await?;
    svc.devices.unbind_durably(&tenant, &c.account_id, &device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/api/account/devices", get(list).post(bind))
        .route("/t/{tenant}/api/account/devices/{device_id}", delete(unbind))
}
