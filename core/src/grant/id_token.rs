//! The ID token (OIDC Core §2): its claims, serialized in the order and form the
//! openidconnect crate writes them (relying parties built on it parse every field),
//! `at_hash`, and a compact JWS with an `alg` + `kid` header, no `typ`.

use aws_lc_rs::digest;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::jwt;
use crate::keys::{Alg, SigningKey, b64};

/// The claims of an ID token. Field order is the wire order: the protocol claims,
/// then the standard account claims, then `sid` and the further claims (developer
/// and plugin claims, in key order).
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// Always an array, as openidconnect writes it.
    pub aud: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    pub azp: String,
    /// Set by [`sign`] from the access token issued with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    pub sid: String,
    /// Claims beyond the registered ones (already filtered of reserved names).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IdTokenClaims {
    /// Copies the standard claims the ID token carries (username, email, phone, with
    /// their verification flags) out of the claims the scopes `released`.
    pub fn set_standard(&mut self, released: &Map<String, Value>) {
        let text = |k: &str| released.get(k).and_then(Value::as_str).map(str::to_string);
        let flag = |k: &str| released.get(k).and_then(Value::as_bool);
        self.preferred_username = text("preferred_username");
        if let Some(e) = text("email") {
            self.email = Some(e);
            self.email_verified = flag("email_verified");
        }
        if let Some(p) = text("phone_number") {
            self.phone_number = Some(p);
            self.phone_number_verified = flag("phone_number_verified");
        }
    }
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the access token's hash under the
/// ID token algorithm's hash (SHA-256 for RS256 and ES256, SHA-512 for Ed25519).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let algorithm = match alg {
        Alg::RS256 | Alg::ES256 => &digest::SHA256,
        Alg::EdDSA => &digest::SHA512,
    };
    let hash = digest::digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    b64(&bytes[..bytes.len() / 2])
}

/// Signs `claims` with `key`, setting `at_hash` from `access_token`.
pub fn sign(key: &SigningKey, mut claims: IdTokenClaims, access_token: &str) -> Result<String> {
    claims.at_hash = Some(at_hash(key.alg, access_token));
    jwt::sign_untyped(key, &claims)
}
