//! The ID token as openidconnect relying parties read it: Latchkey's extra claims
//! (`sid`, the developer and plugin claims) for the demo app's verification. Core
//! issues every token (`grant::Tokens`); a test here proves core writes the same
//! claims, byte for byte, as openidconnect would.

use openidconnect::core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm};
use openidconnect::{AdditionalClaims, IdToken};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use latchkey_core::grant::Issued;
pub use latchkey_core::grant::issue::ACCESS_TOKEN_ALG;
pub use latchkey_core::keys::ACCESS_TOKEN_TYP;

/// Claims beyond the standard ones that Latchkey's ID tokens carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatchkeyClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Further claims released by the granted scopes (the developer claims, R14).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}
impl AdditionalClaims for LatchkeyClaims {}

/// An ID token with Latchkey's claims, as openidconnect parses and verifies it.
pub type LatchkeyIdToken =
    IdToken<LatchkeyClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use latchkey_core::grant::id_token::{self, IdTokenClaims};
    use latchkey_core::keys::{Alg, Keys};
    use latchkey_core::{ManualClock, Store};
    use openidconnect::{
        AccessToken, Audience, AuthenticationContextClass, AuthenticationMethodReference, ClientId, EndUserEmail,
        EndUserPhoneNumber, EndUserUsername, IdTokenClaims as OidcClaims, IssuerUrl, Nonce, StandardClaims,
        SubjectIdentifier,
    };
    use serde_json::json;

    use super::*;
    use crate::oidc::signing::{OidcKey, jws_alg};

    /// The claims of one ID token, built by core and by openidconnect.
    fn both(nonce: Option<&str>, email: bool) -> (IdTokenClaims, OidcClaims<LatchkeyClaims, CoreGenderClaim>) {
        let mut extra = serde_json::Map::new();
        extra.insert("review_status".into(), json!("approved"));
        extra.insert("developer_type".into(), json!("company"));
        extra.insert("device_quota".into(), json!(3));
        let mut core = IdTokenClaims {
            iss: "https://id.example/t/t".into(),
            aud: vec!["web".into()],
            exp: 1_900_000_600,
            iat: 1_900_000_000,
            auth_time: 1_899_999_000,
            nonce: nonce.map(str::to_string),
            acr: "2".into(),
            amr: vec!["pwd".into(), "otp".into()],
            azp: "web".into(),
            at_hash: None,
            sub: "acct-1".into(),
            preferred_username: None,
            email: None,
            email_verified: None,
            phone_number: None,
            phone_number_verified: None,
            sid: "sid-1".into(),
            extra: extra.clone(),
        };
        let mut released = serde_json::Map::new();
        released.insert("preferred_username".into(), json!("alice"));
        released.insert("phone_number".into(), json!("+8613800138000"));
        released.insert("phone_number_verified".into(), json!(true));
        if email {
            released.insert("email".into(), json!("a@example.com"));
            released.insert("email_verified".into(), json!(false));
        }
        core.set_standard(&released);
        let time = |t: i64| Utc.timestamp_opt(t, 0).single().unwrap();
        let mut standard = StandardClaims::new(SubjectIdentifier::new("acct-1".into()))
            .set_preferred_username(Some(EndUserUsername::new("alice".into())))
            .set_phone_number(Some(EndUserPhoneNumber::new("+8613800138000".into())))
            .set_phone_number_verified(Some(true));
        if email {
            standard =
                standard.set_email(Some(EndUserEmail::new("a@example.com".into()))).set_email_verified(Some(false));
        }
        let oidc = OidcClaims::new(
            IssuerUrl::new("https://id.example/t/t".into()).unwrap(),
            vec![Audience::new("web".into())],
            time(1_900_000_600),
            time(1_900_000_000),
            standard,
            LatchkeyClaims { sid: Some("sid-1".into()), extra },
        )
        .set_auth_time(Some(time(1_899_999_000)))
        .set_nonce(nonce.map(|n| Nonce::new(n.into())))
        .set_auth_context_ref(Some(AuthenticationContextClass::new("2".into())))
        .set_auth_method_refs(Some(vec![
            AuthenticationMethodReference::new("pwd".into()),
            AuthenticationMethodReference::new("otp".into()),
        ]))
        .set_authorized_party(Some(ClientId::new("web".into())));
        (core, oidc)
    }

    /// Core writes the ID token exactly as openidconnect did before it moved: the same
    /// claims JSON byte for byte, the same header and `at_hash` for every algorithm,
    /// and (RS256 and EdDSA signatures being deterministic) the same token.
    #[tokio::test]
    async fn p2_core_id_tokens_match_openidconnect_byte_for_byte() {
        for (nonce, email) in [(Some("n-1"), true), (None, false)] {
            let (core, oidc) = both(nonce, email);
            assert_eq!(serde_json::to_string(&core).unwrap(), serde_json::to_string(&oidc).unwrap());
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let sealer = Arc::new(latchkey_core::seal::Sealer::new([3; 32]));
        let keys = Keys::new(store, Arc::new(ManualClock::new()), sealer, 3600);
        keys.ensure("t").await.unwrap();
        let ring = keys.ring("t").await.unwrap();
        let access = "header.payload.signature-of-an-access-token";
        for alg in Alg::ALL {
            let key = ring.active(alg).unwrap();
            let (core, oidc) = both(Some("n-1"), true);
            let ours = id_token::sign(key, core, access).unwrap();
            let theirs =
                LatchkeyIdToken::new(oidc, &OidcKey(key), jws_alg(alg), Some(&AccessToken::new(access.into())), None)
                    .unwrap()
                    .to_string();
            let signed = |t: &str| t.rsplit_once('.').unwrap().0.to_string();
            assert_eq!(signed(&ours), signed(&theirs), "{alg:?}");
            if alg != Alg::ES256 {
                assert_eq!(ours, theirs, "{alg:?}");
            }
        }
    }
}
