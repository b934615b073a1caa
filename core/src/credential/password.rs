//! Argon2id password hashing (PHC strings) with bounded concurrency, and a dummy
//! verification so an unknown account costs the same time as a wrong password.

use std::sync::Arc;

use std::cell::RefCell;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::{Error, Field, Result};

/// Argon2id cost parameters. The defaults are OWASP's (19 MiB, t=2, p=1).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams { memory_kib: 19456, iterations: 2, parallelism: 1 }
    }
}

/// Hashes and verifies passwords on the blocking pool, at most `max_concurrent` at once
/// (each hash holds `memory_kib` of memory).
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    dummy: Arc<String>,
}

/// Longest password accepted (bytes): longer input is refused before hashing.
pub const MAX_LEN: usize = 256;

impl Passwords {
    pub fn new(params: HashParams, max_concurrent: usize) -> Result<Self> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|_| Error::invalid(Field::PasswordHash, "argon2 parameters out of range"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon
            .hash_password(b"latchkey-dummy-password", &salt)
            .map_err(|_| Error::Crypto("argon2 hash"))?
            .to_string();
        Ok(Passwords { argon, permits: Arc::new(Semaphore::new(max_concurrent.max(1))), dummy: Arc::new(dummy) })
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String> {
        if password.len() > MAX_LEN {
            return Err(Error::invalid(Field::Password, "too long"));
        }
        let argon = self.argon.clone();
        let pw = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon.hash_password(pw.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| Error::Crypto("argon2 hash"))
        })
        .await
    }

    /// Verifies a password against a PHC string (`None`: against a dummy hash, so the
    /// answer takes as long and is false).
    pub async fn verify(&self, phc: Option<&str>, password: &str) -> Result<bool> {
        let real = phc.is_some();
        let phc = phc.map(str::to_owned).unwrap_or_else(|| self.dummy.as_ref().clone());
        let pw: String = password.chars().take(MAX_LEN).collect();
        let ok = self.run(move || verify_reusing_memory(&phc, pw.as_bytes())).await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|_| Error::Crypto("hasher closed"))?;
        tokio::task::spawn_blocking(f).await.map_err(|_| Error::Crypto("hasher task"))?
    }
}

thread_local! {
    /// Argon2 working memory, kept per blocking thread. A fresh 19 MiB allocation per
    /// verify costs ~40% of the verify in page faults (zero-filling new pages).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC string with this thread's reusable memory, and
/// compares the digests in constant time.
fn verify_reusing_memory(phc: &str, password: &[u8]) -> Result<bool> {
    let bad = || Error::Crypto("stored password hash");
    let parsed = PasswordHash::new(phc).map_err(|_| bad())?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| bad())?;
    let version = parsed.version.map(Version::try_from).transpose().map_err(|_| bad())?.unwrap_or_default();
    let expected = parsed.hash.ok_or_else(bad)?;
    let params = Params::try_from(&parsed).map_err(|_| bad())?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt.ok_or_else(bad)?.decode_b64(&mut salt_buf).map_err(|_| bad())?;
    let blocks_needed = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..blocks_needed]).map_err(|_| bad())
    })?;
    Ok(out.ct_eq(expected.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verify_with_reused_memory_agrees_with_argon2() {
        let p = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
        let phc = p.hash("correct horse").await.unwrap();
        assert!(p.verify(Some(&phc), "correct horse").await.unwrap());
        assert!(!p.verify(Some(&phc), "correct horsf").await.unwrap());
        assert!(!p.verify(None, "correct horse").await.unwrap(), "the dummy never matches");
        // A hash made elsewhere with other parameters still verifies.
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(2048, 2, 2, None).unwrap());
        let salt = SaltString::generate(&mut OsRng);
        let phc = other.hash_password(b"pw elsewhere", &salt).unwrap().to_string();
        assert!(p.verify(Some(&phc), "pw elsewhere").await.unwrap());
    }
}
