//! Client secrets that are JWTs signed per request (Apple-style, R17): the upstream
//! gives a team id, a key id and a P-256 key instead of a fixed secret.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use latchkey_core::federation::upstream::JwtSecret;
use latchkey_core::{Error, Field, Result};
use serde_json::json;

/// How long a signed client secret is good for; one is made per token request.
const LIFETIME_SECS: u64 = 300;

/// A fresh ES256 client secret: `iss` = team id, `sub` = client id, `aud`, `iat` =
/// `now`, `exp` = `now` + 5 min, with `kid` = key id in the header.
pub fn signed(jwt: &JwtSecret, client_id: &str, now: u64) -> Result<String> {
    let der = pem_der(&jwt.private_key)?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
        .map_err(|_| Error::invalid(Field::ClientSecretJwtPrivateKey, "not a PKCS#8 P-256 key"))?;
    let header = json!({ "alg": "ES256", "kid": jwt.key_id });
    let claims = json!({
        "iss": jwt.team_id,
        "iat": now,
        "exp": now + LIFETIME_SECS,
        "aud": jwt.audience,
        "sub": client_id,
    });
    let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(&header), part(&claims));
    let signature =
        key.sign(&SystemRandom::new(), input.as_bytes()).map_err(|_| Error::Crypto("ES256 client secret signing"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
}

/// The DER inside a `-----BEGIN PRIVATE KEY-----` PEM block.
fn pem_der(pem: &str) -> Result<Vec<u8>> {
    let bad = || Error::invalid(Field::ClientSecretJwtPrivateKey, "not a PEM private key");
    let start = pem.find("-----BEGIN PRIVATE KEY-----").ok_or_else(bad)? + "-----BEGIN PRIVATE KEY-----".len();
    let end = pem[start..].find("-----END PRIVATE KEY-----").ok_or_else(bad)? + start;
    let body: String = pem[start..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, KeyPair, UnparsedPublicKey};
    use serde_json::Value;

    use super::*;

    /// A fresh P-256 key as (PKCS#8 PEM, public key bytes).
    fn key() -> (String, Vec<u8>) {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let b64 = STANDARD.encode(pkcs8.as_ref());
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
        (pem, pair.public_key().as_ref().to_vec())
    }

    fn secret(private_key: String) -> JwtSecret {
        JwtSecret {
            team_id: "TEAM123".into(),
            key_id: "KEY456".into(),
            private_key,
            audience: "https://appleid.apple.com".into(),
        }
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn r17_jwt_client_secret_is_es256_signed_with_apple_claims() {
        let (pem, public) = key();
        let jwt = signed(&secret(pem), "com.example.web", 1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public).verify(input.as_bytes(), &signature).unwrap();
        assert_eq!(decode(parts[0]), json!({ "alg": "ES256", "kid": "KEY456" }));
        assert_eq!(
            decode(parts[1]),
            json!({
                "iss": "TEAM123", "iat": 1_700_000_000u64, "exp": 1_700_000_300u64,
                "aud": "https://appleid.apple.com", "sub": "com.example.web",
            })
        );
        // Another key's signature does not verify: the key really is the one given.
        let (_, other) = key();
        assert!(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &other).verify(input.as_bytes(), &signature).is_err());
    }

    #[test]
    fn r17_bad_pem_is_invalid_not_a_panic() {
        let (pem, _) = key();
        let garbled = pem.replace("-----BEGIN PRIVATE KEY-----\n", "-----BEGIN PRIVATE KEY-----\n!!");
        let truncated = pem[..pem.len() / 2].to_string();
        let not_p256 = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----", STANDARD.encode(b"junk"));
        for bad in ["".to_string(), "hello".to_string(), garbled, truncated, not_p256] {
            let err = signed(&secret(bad.clone()), "c", 0).unwrap_err();
            assert!(matches!(err, Error::Invalid { .. }), "{bad:?}: {err:?}");
        }
    }
}
