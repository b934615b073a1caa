//! The claims a grant releases: the scope rules are `grant::claims` in core; the
//! developer claims (R14) are read here for userinfo and ID tokens.

pub use latchkey_core::grant::claims::{DEVELOPER_SCOPE, for_scopes};
use serde_json::{Map, Value};

/// The developer claims (R14: `developer_type`, `review_status`, `device_quota`,
/// `developer_support`) when `scopes` hold `profile` or `developer`; empty otherwise.
pub fn developer(
    svc: &crate::state::Services,
    tenant: &str,
    account_id: &str,
    scopes: &[String],
) -> latchkey_core::Result<Map<String, Value>> {
    if !latchkey_core::grant::claims::releases_developer(scopes) {
        return Ok(Map::new());
    }
    let settings = svc.tenants.get(tenant)?.settings;
    svc.developers.claims(tenant, &settings, account_id)
}
