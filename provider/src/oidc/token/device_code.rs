//! device_code grant (RFC 8628 §3.4): the device polls with its device code; until
//! the person decides, the answer is `authorization_pending` (or `slow_down`), then
//! tokens exactly once, or `access_denied` / `expired_token`.

use latchkey_core::client::Client;

use crate::oidc::issuer::Issued;
use crate::state::Services;
use crate::web::error::ApiResult;

pub async fn exchange(svc: &Services, tenant: &str, client: &Client, device_code: &str) -> ApiResult<Issued> {
    Ok(svc.tokens.device_code(tenant, client, device_code).await?)
}
