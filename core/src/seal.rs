//! Secrets at rest that must be read back (TOTP seeds): AES-256-GCM under one
//! server key (and keyed digests of low-entropy secrets that need not be),
//! server key, a fresh random nonce per seal, and the record's identity as
//! associated data so a sealed value copied to another record does not open.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::error::{Error, Result};

/// Length of the sealing key in bytes.
pub const KEY_LEN: usize = 32;

/// Seals and opens small secrets with the server's sealing key.
pub struct Sealer {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer { .. }")
    }
}

impl Sealer {
    /// A sealer over a raw 256-bit key.
    pub fn new(key: [u8; KEY_LEN]) -> Sealer {
        Sealer { key }
    }

    /// Reads the key from `path` (exactly 32 raw bytes), or creates the file with a
    /// fresh random key, mode 0600, when it does not exist. A file of any other length
    /// is an error and is left as it is: replacing it would make every sealed value
    /// unreadable.
    pub fn from_key_file(path: &Path) -> Result<Sealer> {
        let file_err = |e: std::io::Error| Error::Storage(format!("seal key {}: {e}", path.display()));
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(&key).map_err(file_err)?;
                f.sync_all().map_err(file_err)?;
                Ok(Sealer { key })
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let mut bytes = Vec::with_capacity(KEY_LEN + 1);
                std::fs::File::open(path)
                    .and_then(|f| f.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes))
                    .map_err(file_err)?;
                let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    Error::Storage(format!("seal key {}: must hold exactly {KEY_LEN} bytes", path.display()))
                })?;
                Ok(Sealer { key })
            }
            Err(e) => Err(file_err(e)),
        }
    }

    /// A keyed digest of a low-entropy secret (recovery codes): HMAC-SHA256 under a
    /// key derived from the sealing key, over `context` and `secret`. Without the key
    /// file, a copy of the store does not let anyone test guesses offline.
    pub fn digest(&self, context: &str, secret: &str) -> String {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.key), b"latchkey keyed digest v1");
        let key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(context.as_bytes());
        ctx.update(&[0]);
        ctx.update(secret.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }

    fn aead(&self) -> Result<RandomizedNonceKey> {
        RandomizedNonceKey::new(&AES_256_GCM, &self.key).map_err(|_| Error::Crypto("seal key rejected"))
    }

    /// Encrypts `plain` bound to `context` (e.g. `totp/{tenant}/{account}`); returns
    /// base64url(nonce || ciphertext || tag).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<String> {
        let mut in_out = plain.to_vec();
        let nonce = self
            .aead()?
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| Error::Crypto("seal failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts a value made by [`Sealer::seal`] with the same key and `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| Error::Crypto("sealed value is not base64url"))?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(Error::Crypto("sealed value is too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Crypto("sealed value nonce"))?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .aead()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| Error::Crypto("sealed value does not open"))?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new([7u8; KEY_LEN])
    }

    #[test]
    fn round_trip() {
        let s = sealer();
        let sealed = s.seal("totp/t/a", b"seed bytes").unwrap();
        assert_eq!(s.open("totp/t/a", &sealed).unwrap(), b"seed bytes");
        // A fresh nonce each time: sealing twice gives two different values.
        assert_ne!(sealed, s.seal("totp/t/a", b"seed bytes").unwrap());
    }

    #[test]
    fn wrong_context_fails() {
        let s = sealer();
        let sealed = s.seal("totp/t/a", b"seed").unwrap();
        assert!(matches!(s.open("totp/t/b", &sealed), Err(Error::Crypto(_))));
        assert!(matches!(s.open("totp/u/a", &sealed), Err(Error::Crypto(_))));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = sealer().seal("c", b"seed").unwrap();
        assert!(matches!(Sealer::new([8u8; KEY_LEN]).open("c", &sealed), Err(Error::Crypto(_))));
    }

    #[test]
    fn tampered_byte_fails() {
        let s = sealer();
        let sealed = s.seal("c", b"seed").unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            assert!(matches!(s.open("c", &URL_SAFE_NO_PAD.encode(&t)), Err(Error::Crypto(_))), "byte {i}");
        }
        assert!(matches!(s.open("c", "not base64!"), Err(Error::Crypto(_))));
        assert!(matches!(s.open("c", ""), Err(Error::Crypto(_))));
        assert!(matches!(s.open("c", &URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1])), Err(Error::Crypto(_))));
    }

    #[test]
    fn key_file_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        let first = Sealer::from_key_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let sealed = first.seal("c", b"seed").unwrap();
        let again = Sealer::from_key_file(&path).unwrap();
        assert_eq!(again.open("c", &sealed).unwrap(), b"seed");
    }

    #[test]
    fn key_file_of_wrong_length_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seal.key");
        std::fs::write(&path, [1u8; 31]).unwrap();
        assert!(Sealer::from_key_file(&path).is_err());
        std::fs::write(&path, [1u8; 33]).unwrap();
        assert!(Sealer::from_key_file(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), [1u8; 33]);
    }
}
