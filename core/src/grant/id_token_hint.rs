//! ID tokens this tenant issued, presented back as `id_token_hint` (RP-Initiated
//! Logout 1.0 §2, OIDC Core §3.1.2.1): signed by one of the tenant's keys, issued by
//! its issuer, and an ID token (not an access token or any other JWT the tenant signs).
//! An expired ID token is still a valid hint.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::jwt;
use crate::keys::KeyRing;

/// What a verified hint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The account the ID token was issued about.
    pub sub: String,
    /// The clients it was issued to.
    pub aud: Vec<String>,
}

impl IdTokenHint {
    /// True if the ID token was issued to `client_id` (RP-Initiated Logout §2: a
    /// `client_id` sent with the hint must be one of its audiences).
    pub fn issued_to(&self, client_id: &str) -> bool {
        self.aud.iter().any(|a| a == client_id)
    }
}

/// Claims only other kinds of tokens carry: access tokens (RFC 9068: `scope`,
/// `client_id`) and logout tokens (`events`).
const NOT_IN_ID_TOKENS: &[&str] = &["scope", "client_id", "events"];

/// Verifies an `id_token_hint` against the tenant's key ring and issuer.
pub fn verify(ring: &KeyRing, issuer: &str, token: &str) -> Result<IdTokenHint> {
    let header = jwt::header(token)?;
    // ID tokens are signed without `typ` (or with the generic `JWT`); access tokens
    // say `at+jwt`, logout tokens `logout+jwt`.
    match header.get("typ") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(Error::InvalidToken),
    }
    let claims = jwt::verify_signature(ring, token, None)?;
    if claims["iss"].as_str() != Some(issuer) {
        return Err(Error::InvalidToken);
    }
    if NOT_IN_ID_TOKENS.iter().any(|c| claims.get(*c).is_some()) {
        return Err(Error::InvalidToken);
    }
    if claims["exp"].as_u64().is_none() || claims["iat"].as_u64().is_none() {
        return Err(Error::InvalidToken);
    }
    let sub = claims["sub"].as_str().filter(|s| !s.is_empty()).ok_or(Error::InvalidToken)?.to_string();
    let aud = match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .map(|a| a.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::InvalidToken)?,
        _ => return Err(Error::InvalidToken),
    };
    if aud.is_empty() {
        return Err(Error::InvalidToken);
    }
    Ok(IdTokenHint { sub, aud })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::{Alg, Keys};
    use crate::store::Store;

    const ISS: &str = "https://id.example/t/t1";

    #[tokio::test]
    async fn p7_only_this_tenants_id_tokens_are_hints() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let keys = Keys::new(store, Arc::new(ManualClock::new()), Arc::new(crate::seal::Sealer::new([7; 32])), 3600);
        keys.ensure("t1").await.unwrap();
        keys.ensure("t2").await.unwrap();
        let ring = keys.ring("t1").await.unwrap();
        let other = keys.ring("t2").await.unwrap();
        let id = json!({ "iss": ISS, "sub": "acct1", "aud": ["web"], "azp": "web", "exp": 10, "iat": 5 });
        let sign = |ring: &KeyRing, alg: Alg, typ: &str, claims: &Value| {
            jwt::sign(ring.active(alg).unwrap(), typ, claims).unwrap()
        };
        // An ID token (expired long ago: still a hint), by any of the tenant's algorithms.
        for alg in Alg::ALL {
            let hint = verify(&ring, ISS, &sign(&ring, alg, "JWT", &id)).unwrap();
            assert_eq!(hint, IdTokenHint { sub: "acct1".into(), aud: vec!["web".into()] });
            assert!(hint.issued_to("web") && !hint.issued_to("other"));
        }
        let single_aud = json!({ "iss": ISS, "sub": "acct1", "aud": "web", "exp": 10, "iat": 5 });
        assert!(verify(&ring, ISS, &sign(&ring, Alg::RS256, "JWT", &single_aud)).unwrap().issued_to("web"));
        // Not hints: an access token, another kind of JWT, another tenant's, another issuer.
        let at = json!({ "iss": ISS, "sub": "acct1", "aud": "web", "client_id": "web", "scope": "openid",
            "exp": 10, "iat": 5, "jti": "j" });
        let refused = [
            ("access token", sign(&ring, Alg::ES256, "at+jwt", &at)),
            ("access-token claims under typ JWT", sign(&ring, Alg::ES256, "JWT", &at)),
            ("ID claims under at+jwt", sign(&ring, Alg::RS256, "at+jwt", &id)),
            ("logout token", sign(&ring, Alg::RS256, "logout+jwt", &id)),
            (
                "events claim",
                sign(
                    &ring,
                    Alg::RS256,
                    "JWT",
                    &json!({ "events": {}, "iss": ISS, "sub": "a",
                "aud": "web", "exp": 1, "iat": 1 }),
                ),
            ),
            ("other tenant's key", sign(&other, Alg::RS256, "JWT", &id)),
            (
                "other issuer",
                sign(
                    &ring,
                    Alg::RS256,
                    "JWT",
                    &json!({ "iss": "https://evil", "sub": "acct1",
                "aud": "web", "exp": 10, "iat": 5 }),
                ),
            ),
            ("no sub", sign(&ring, Alg::RS256, "JWT", &json!({ "iss": ISS, "aud": "web", "exp": 10, "iat": 5 }))),
            ("no aud", sign(&ring, Alg::RS256, "JWT", &json!({ "iss": ISS, "sub": "a", "exp": 10, "iat": 5 }))),
            ("no exp", sign(&ring, Alg::RS256, "JWT", &json!({ "iss": ISS, "sub": "a", "aud": "w", "iat": 5 }))),
            ("garbage", "a.b.c".to_string()),
            ("empty", String::new()),
        ];
        for (what, token) in refused {
            assert!(matches!(verify(&ring, ISS, &token), Err(Error::InvalidToken)), "{what}");
        }
        // A tampered signature.
        let mut tampered = sign(&ring, Alg::EdDSA, "JWT", &id).into_bytes();
        let i = tampered.len() - 10;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert!(verify(&ring, ISS, &String::from_utf8(tampered).unwrap()).is_err());
    }
}
