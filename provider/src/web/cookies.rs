//! Every cookie the server sets, by name, and the browser's session in a tenant.
//! One place so a reader sees what a browser holds and a rename cannot miss a site.

use axum::http::HeaderMap;
use latchkey_core::session::Session;

use crate::state::Services;
use crate::web::error::ApiResult;
use crate::web::http::cookie;

/// The browser's session in one tenant (scoped to the tenant's path).
pub const SESSION: &str = "lk_session";
/// A long-lived random id of the browser, for new-device notices (R38).
pub const DEVICE: &str = "lk_device";
/// How long the device cookie lives.
pub const DEVICE_AGE: u64 = 400 * 24 * 3600;
/// "Remember this device": skips the second factor (R20).
pub const REMEMBER: &str = "lk_remember";
/// A sign-in waiting for its second factor or CAPTCHA.
pub const PENDING: &str = "lk_pending";
/// A third-party sign-in on its way to the upstream provider and back (R17).
pub const DETOUR: &str = "lk_fed";
/// A first third-party sign-in waiting for the person (link, register, contact).
pub const FEDERATED_PENDING: &str = "lk_fed_pending";
/// An admin page session (O4).
pub const ADMIN: &str = "lk_admin";
/// The demo app's own session.
pub const DEMO: &str = "lk_demo";
/// The CSRF nonce over plain http (development, loopback).
pub const CSRF: &str = "lk_csrf";
/// The CSRF nonce under https: host-only, Path=/, Secure, by the browser's rules.
pub const CSRF_HOST: &str = "__Host-lk_csrf";

/// The cookie path that scopes a session to one tenant.
pub fn session_path(tenant: &str) -> String {
    format!("/t/{tenant}/")
}

/// The browser's live session in this tenant: (cookie value, session).
pub async fn session_of(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Option<(String, Session)>> {
    let Some(c) = cookie(headers, SESSION).filter(|c| c.len() <= 64) else { return Ok(None) };
    Ok(svc.sessions.get(tenant, &c).await?.map(|s| (c, s)))
}
