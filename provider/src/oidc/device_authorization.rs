//! The device authorization endpoint (RFC 8628 §3.1, §3.2): a device that cannot
//! show a browser asks for a device code (to poll the token endpoint with) and a user
//! code (for the person to enter at `{issuer}/device`). Clients authenticate as at
//! the token endpoint; public clients may use it. The rules (the client must be
//! registered for the device_code grant, the scope well formed) are core's
//! (`device::request`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::oidc::client_auth;
use crate::state::{AppState, Services};
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::paths;

/// The request form. `scope` is space-separated printable ASCII (at most 1024
/// bytes); `device_id` (1 to 64 of letters, digits, `. _ - :`) and `device_name` (1
/// to 64 characters) are optional Latchkey extensions naming the device, used for the
/// binding that approval creates.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceAuthorizationForm {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
}

/// RFC 8628 §3.2 response.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// The page where people enter user codes; discovery and responses both use it.
pub fn verification_uri(svc: &Services, tenant: &str) -> String {
    format!("{}{}", svc.issuer(tenant), paths::DEVICE)
}

async fn device_authorization(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<DeviceAuthorizationForm>,
) -> ApiResult<Response> {
    svc.tenants.get(&tenant).await?;
    let client =
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())
            .await?;
    let scope = form.scope.as_deref();
    let started =
        svc.devices.start_durably(&tenant, &client, scope, form.device_id, form.device_name, svc.now()).await??;
    let uri = verification_uri(&svc, &tenant);
    let body = DeviceAuthorizationResponse {
        verification_uri_complete: format!("{uri}?user_code={}", started.user_code),
        verification_uri: uri,
        device_code: started.device_code,
        user_code: started.user_code,
        expires_in: started.expires_in,
        interval: started.interval,
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::DEVICE_AUTHORIZATION), axum::routing::post(device_authorization))
}
