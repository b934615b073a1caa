//! Which account claims each scope releases (OIDC Core §5.4), for userinfo and ID
//! tokens, and the protocol claims a plugin may never set.

use serde_json::{Map, Value, json};

use crate::account::Account;

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

/// True if `scopes` release the developer claims (R14).
pub fn releases_developer(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "profile" || s == DEVELOPER_SCOPE)
}

/// Protocol claims a plugin may not set.
pub const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "auth_time",
    "acr",
    "amr",
    "sid",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
];

/// Adds plugin claims to a claims object, skipping the reserved ones (W2).
pub fn merge_extra(target: &mut Value, extra: Map<String, Value>) {
    if let Value::Object(m) = target {
        merge_into(m, extra);
    }
}

/// Adds plugin claims to a claims map, skipping the reserved ones (W2).
pub fn merge_into(target: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (k, v) in extra {
        if !RESERVED.contains(&k.as_str()) {
            target.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w2_plugin_claims_never_replace_reserved_claims() {
        let mut claims = json!({ "iss": "https://id.example/t/t", "sub": "alice", "scope": "openid" });
        let mut extra = Map::new();
        for k in RESERVED {
            extra.insert((*k).to_string(), json!("forged"));
        }
        extra.insert("team".into(), json!("blue"));
        merge_extra(&mut claims, extra);
        assert_eq!(claims["sub"], json!("alice"));
        assert_eq!(claims["iss"], json!("https://id.example/t/t"));
        assert_eq!(claims["scope"], json!("openid"));
        for k in RESERVED {
            assert_ne!(claims.get(*k), Some(&json!("forged")), "{k} set by a plugin");
        }
        assert_eq!(claims["team"], json!("blue"), "other claims are added");
    }

    #[test]
    fn r14_developer_claims_need_profile_or_developer() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(releases_developer(&s(&["openid", "profile"])));
        assert!(releases_developer(&s(&["openid", "developer"])));
        assert!(!releases_developer(&s(&["openid", "email"])));
    }
}
