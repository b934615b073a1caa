//! Which account claims each scope releases (OIDC Core §5.4), for userinfo and ID tokens.

use latchkey_core::account::Account;
use serde_json::{Map, Value, json};

/// The claims `scopes` release about `account` (without `sub`).
pub fn for_scopes(account: &Account, scopes: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        if let Some(n) = &account.name {
            m.insert("preferred_username".into(), json!(n));
            m.insert("name".into(), json!(n));
        }
        m.insert("updated_at".into(), json!(account.updated_at));
    }
    if has("email")
        && let Some(e) = account.email()
    {
        m.insert("email".into(), json!(e.value));
        m.insert("email_verified".into(), json!(e.verified));
    }
    if has("phone")
        && let Some(p) = account.mobile()
    {
        m.insert("phone_number".into(), json!(p.value));
        m.insert("phone_number_verified".into(), json!(p.verified));
    }
    m
}

/// The scope that releases the developer claims (R14); `profile` releases them too.
pub const DEVELOPER_SCOPE: &str = "developer";

/// The developer claims (R14: `developer_type`, `review_status`, `device_quota`,
/// `developer_support`) when `scopes` hold `profile` or `developer`; empty otherwise.
pub fn developer(
    svc: &crate::state::Services,
    tenant: &str,
    account_id: &str,
    scopes: &[String],
) -> latchkey_core::Result<Map<String, Value>> {
    if !scopes.iter().any(|s| s == "profile" || s == DEVELOPER_SCOPE) {
        return Ok(Map::new());
    }
    let settings = svc.tenants.get(tenant)?.settings;
    svc.developers.claims(tenant, &settings, account_id)
}
