//! device_code grant (RFC 8628 §3.4): the device polls with its device code; until
//! the person decides, the answer is `authorization_pending` (or `slow_down`), then
//! tokens exactly once, or `access_denied` / `expired_token`.

use latchkey_core::client::Client;
use latchkey_core::device::Devices;
use latchkey_core::grant::family;

use crate::oidc::issuer::{self, Issued};
use crate::state::Services;
use crate::web::error::ApiResult;

pub fn exchange(svc: &Services, tenant: &str, client: &Client, device_code: &str) -> ApiResult<Issued> {
    let now = svc.now();
    let redeemed = Devices::new(svc.store.clone()).poll(tenant, &client.id, device_code, now)?;
    let horizon = now + client.lifetimes.refresh_token.max(client.lifetimes.access_token);
    let family = family::open(&svc.store, tenant, &client.id, &redeemed.approval.account_id, horizon)?;
    Ok(issuer::for_grant(svc, tenant, client, &redeemed.into_grant(family))?)
}
