//! openidconnect's `PrivateSigningKey` over Latchkey's aws-lc-rs keys, and the JWK
//! form of public keys for JWKS.

use latchkey_core::keys::{Alg, PublicJwk, SigningKey};
use openidconnect::core::{CoreJsonCurveType, CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKeyId, PrivateSigningKey, SigningError};

/// A tenant key as openidconnect sees it.
pub struct OidcKey<'a>(pub &'a SigningKey);

/// The JOSE algorithm of a Latchkey key algorithm.
pub fn jws_alg(alg: Alg) -> CoreJwsSigningAlgorithm {
    match alg {
        Alg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Alg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        Alg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
    }
}

/// The public JWK of a key, with its kid.
pub fn public_jwk(key: &SigningKey) -> CoreJsonWebKey {
    let kid = Some(JsonWebKeyId::new(key.kid.clone()));
    match key.public_jwk() {
        PublicJwk::Rsa { n, e } => CoreJsonWebKey::new_rsa(n, e, kid),
        PublicJwk::Ec { x, y } => CoreJsonWebKey::new_ec(x, y, CoreJsonCurveType::P256, kid),
        PublicJwk::Okp { x } => CoreJsonWebKey::new_okp(x, CoreJsonCurveType::Ed25519, kid),
    }
}

impl PrivateSigningKey for OidcKey<'_> {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        if *alg != jws_alg(self.0.alg) {
            return Err(SigningError::UnsupportedAlg(format!("{alg:?}")));
        }
        self.0.sign(message).map_err(|e| SigningError::Other(e.to_string()))
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        public_jwk(self.0)
    }
}
