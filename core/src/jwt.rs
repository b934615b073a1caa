//! Compact JWS for Latchkey's own tokens (access tokens, RFC 9068): sign with a
//! tenant key, verify against the tenant's key ring.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::keys::{KeyRing, SigningKey, b64};

/// Signs `claims` as a JWT with header `typ`.
pub fn sign(key: &SigningKey, typ: &str, claims: &Value) -> Result<String> {
    sign_with_header(key, &json!({ "alg": key.alg.as_str(), "kid": key.kid, "typ": typ }), claims)
}

/// Signs `claims` as a JWT whose header has no `typ`, only `alg` and `kid` (the
/// header openidconnect writes on ID tokens).
pub fn sign_untyped(key: &SigningKey, claims: &impl Serialize) -> Result<String> {
    sign_with_header(key, &json!({ "alg": key.alg.as_str(), "kid": key.kid }), claims)
}

fn sign_with_header(key: &SigningKey, header: &Value, claims: &impl Serialize) -> Result<String> {
    let mut out = format!("{}.{}", b64(&serde_json::to_vec(header)?), b64(&serde_json::to_vec(claims)?));
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64(&sig));
    Ok(out)
}

/// Verifies a JWT signed by one of the ring's keys, with the expected `typ`, not
/// expired at `now`. Returns its claims.
pub fn verify(ring: &KeyRing, token: &str, typ: Option<&str>, now: u64) -> Result<Value> {
    let claims = verify_signature(ring, token, typ)?;
    if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
        return Err(Error::InvalidToken);
    }
    Ok(claims)
}

/// The decoded (unverified) JOSE header of a compact JWS.
pub fn header(token: &str) -> Result<Value> {
    let h = token.split('.').next().ok_or(Error::InvalidToken)?;
    let bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| Error::InvalidToken)?;
    match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::InvalidToken),
    }
}

/// Verifies signature and `typ` only (an `id_token_hint` may have expired).
pub fn verify_signature(ring: &KeyRing, token: &str, typ: Option<&str>) -> Result<Value> {
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| Error::InvalidToken);
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Error::InvalidToken);
    };
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| Error::InvalidToken)?;
    let kid = header["kid"].as_str().ok_or(Error::InvalidToken)?;
    let key = ring.by_kid(kid).ok_or(Error::InvalidToken)?;
    if header["alg"].as_str() != Some(key.alg.as_str()) || typ.is_some_and(|t| header["typ"].as_str() != Some(t)) {
        return Err(Error::InvalidToken);
    }
    let signed_len = h.len() + 1 + c.len();
    if !key.verify(&token.as_bytes()[..signed_len], &decode(s)?) {
        return Err(Error::InvalidToken);
    }
    serde_json::from_slice(&decode(c)?).map_err(|_| Error::InvalidToken)
}
