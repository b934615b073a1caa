//! Random tokens and their at-rest form: high-entropy secrets are stored as SHA-256
//! digests and compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random token: 32 bytes from the OS generator, base64url.
pub fn token() -> String {
    token_of(32)
}

/// A random token of `bytes` bytes of entropy, base64url.
pub fn token_of(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The storage key of a secret: base64url(SHA-256(secret)). Safe to store and index:
/// the secrets it is used for carry 256 bits of entropy.
pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Salted digest for secrets a person may have chosen (client secrets given on the CLI).
pub fn salted_digest(salt: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Constant-time equality of two strings.
pub fn eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
