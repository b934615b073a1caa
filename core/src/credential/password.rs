//! Argon2id password hashing (PHC strings) with bounded concurrency, and a dummy
//! verification so an unknown account costs the same time as a wrong password.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

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
            .map_err(|_| Error::invalid("password_hash", "argon2 parameters out of range"))?;
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
            return Err(Error::invalid("password", "too long"));
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
        let argon = self.argon.clone();
        let pw: String = password.chars().take(MAX_LEN).collect();
        let ok = self
            .run(move || {
                let parsed = PasswordHash::new(&phc).map_err(|_| Error::Crypto("stored password hash"))?;
                Ok(argon.verify_password(pw.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|_| Error::Crypto("hasher closed"))?;
        tokio::task::spawn_blocking(f).await.map_err(|_| Error::Crypto("hasher task"))?
    }
}
