//! Recovery codes (R20): ten single-use codes shown once, for when the second step's
//! device is lost. Only keyed digests are stored (HMAC under a key derived from the
//! seal key, with a per-set salt), so a copy of the store alone cannot test guesses; a new set replaces the old one.

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::seal::Sealer;
use crate::secret;
use crate::store::{Record, Store};

/// Codes in a set.
pub const SET_SIZE: usize = 10;
/// Lowercase letters and digits without look-alikes (0/o, 1/l/i): 31 symbols.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Symbols per code: 10 x log2(31) = 49.5 bits.
const CODE_LEN: usize = 10;

/// An account's current set, keyed by account id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryCodesRecord {
    /// Random per set, so equal codes of two sets never share a digest.
    salt: String,
    /// `Sealer::digest` of each unused code (normalised form) under the set's salt.
    digests: Vec<String>,
    created_at: u64,
}

impl Record for RecoveryCodesRecord {
    const TREE: &'static str = "recovery_codes";
    const VERSION: u32 = 1;
}

/// The recovery-code service.
pub struct RecoveryCodes {
    store: Store,
    clock: Arc<dyn Clock>,
    sealer: Arc<Sealer>,
}

/// The form codes are stored in: no surrounding space, lowercase, no spaces or dashes.
fn normalise(code: &str) -> String {
    code.trim().chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

fn fresh_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LEN).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

impl RecoveryCodes {
    pub fn new(store: Store, clock: Arc<dyn Clock>, sealer: Arc<Sealer>) -> Self {
        RecoveryCodes { store, clock, sealer }
    }

    fn digest(&self, salt: &str, code: &str) -> String {
        self.sealer.digest(&format!("recovery-code/{salt}"), code)
    }

    /// Makes a new set of ten codes, replacing any older set, and returns them as
    /// `xxxxx-xxxxx` to show once.
    pub async fn generate(&self, tenant: &str, account_id: &str) -> Result<Vec<String>> {
        let mut codes: Vec<String> = Vec::with_capacity(SET_SIZE);
        while codes.len() < SET_SIZE {
            let code = fresh_code();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        let salt = secret::token_of(16);
        let record = RecoveryCodesRecord {
            digests: codes.iter().map(|c| self.digest(&salt, c)).collect(),
            salt,
            created_at: self.clock.now(),
        };
        self.store.put(tenant, account_id, &record).await?;
        Ok(codes.into_iter().map(|c| format!("{}-{}", &c[..CODE_LEN / 2], &c[CODE_LEN / 2..])).collect())
    }

    /// Uses up one code; returns how many are left. A wrong or used code, or no set,
    /// is `CodeInvalid`.
    pub async fn consume(&self, tenant: &str, account_id: &str, code: &str) -> Result<usize> {
        let code = normalise(code);
        self.store
            .update::<RecoveryCodesRecord, _>(tenant, account_id, |old| {
                let Some(mut record) = old else { return Err(Error::CodeInvalid) };
                let entered = self.digest(&record.salt, &code);
                // Compare with every digest, so the time taken does not tell which matched.
                let mut found = None;
                for (i, stored) in record.digests.iter().enumerate() {
                    if secret::eq(stored, &entered) {
                        found = Some(i);
                    }
                }
                let i = found.ok_or(Error::CodeInvalid)?;
                record.digests.swap_remove(i);
                let left = record.digests.len();
                Ok((Some(record), left))
            })
            .await
    }

    /// How many unused codes the account has (0 without a set).
    pub async fn remaining(&self, tenant: &str, account_id: &str) -> Result<usize> {
        Ok(self.store.get::<RecoveryCodesRecord>(tenant, account_id).await?.map_or(0, |r| r.digests.len()))
    }

    /// Deletes the account's set; false if there was none.
    pub async fn remove(&self, tenant: &str, account_id: &str) -> Result<bool> {
        Ok(self.store.remove::<RecoveryCodesRecord>(tenant, account_id).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::clock::ManualClock;

    const T: &str = "t";
    const A: &str = "acct1";

    async fn setup() -> (RecoveryCodes, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (RecoveryCodes::new(store.clone(), Arc::new(ManualClock::new()), Arc::new(Sealer::new([7; 32]))), store, dir)
    }

    #[tokio::test]
    async fn r20_ten_distinct_codes_in_format() {
        let (rc, _, _d) = setup().await;
        let codes = rc.generate(T, A).await.unwrap();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for c in &codes {
            let (a, b) = c.split_once('-').unwrap();
            assert_eq!((a.len(), b.len()), (5, 5), "{c}");
            assert!(a.bytes().chain(b.bytes()).all(|x| ALPHABET.contains(&x)), "{c}");
            assert!(!c.contains(['0', 'o', '1', 'l', 'i']), "{c}");
        }
        assert_eq!(rc.remaining(T, A).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn r20_each_code_works_once() {
        let (rc, _, _d) = setup().await;
        let codes = rc.generate(T, A).await.unwrap();
        for (n, c) in codes.iter().enumerate() {
            assert_eq!(rc.consume(T, A, c).await.unwrap(), 9 - n);
            assert!(matches!(rc.consume(T, A, c).await, Err(Error::CodeInvalid)));
        }
        assert_eq!(rc.remaining(T, A).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn r20_case_space_and_dash_insensitive() {
        let (rc, _, _d) = setup().await;
        let codes = rc.generate(T, A).await.unwrap();
        let plain = codes[0].replace('-', "");
        rc.consume(T, A, &format!("  {}  ", plain.to_uppercase())).await.unwrap();
        rc.consume(T, A, &format!("{} {}", &codes[1][..5], &codes[1][6..])).await.unwrap();
        rc.consume(T, A, &codes[2].to_uppercase()).await.unwrap();
        assert_eq!(rc.remaining(T, A).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn r20_wrong_code_or_no_set_is_invalid() {
        let (rc, _, _d) = setup().await;
        assert!(matches!(rc.consume(T, A, "abcde-fghjk").await, Err(Error::CodeInvalid)));
        rc.generate(T, A).await.unwrap();
        for bad in ["", "-", "abcde-fghjk", "not a code at all"] {
            assert!(matches!(rc.consume(T, A, bad).await, Err(Error::CodeInvalid)), "{bad:?}");
        }
        assert_eq!(rc.remaining(T, A).await.unwrap(), 10);
        assert_eq!(rc.remaining(T, "other").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn r20_regenerate_invalidates_old_set() {
        let (rc, _, _d) = setup().await;
        let old = rc.generate(T, A).await.unwrap();
        let new = rc.generate(T, A).await.unwrap();
        for c in &old {
            if !new.contains(c) {
                assert!(matches!(rc.consume(T, A, c).await, Err(Error::CodeInvalid)));
            }
        }
        rc.consume(T, A, &new[0]).await.unwrap();
    }

    #[tokio::test]
    async fn r20_codes_never_stored_in_plain_text() {
        let (rc, store, _d) = setup().await;
        let codes = rc.generate(T, A).await.unwrap();
        let record = store.get::<RecoveryCodesRecord>(T, A).await.unwrap().unwrap();
        let stored = serde_json::to_string(&record).unwrap();
        for c in &codes {
            assert!(!stored.contains(c.as_str()) && !stored.contains(&c.replace('-', "")), "{c}");
        }
        assert_eq!(record.digests.len(), 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn r20_concurrent_use_of_one_code_passes_once() {
        let (rc, _, _d) = setup().await;
        let code = rc.generate(T, A).await.unwrap().remove(0);
        let rc = Arc::new(rc);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (rc, code) = (rc.clone(), code.clone());
                tokio::spawn(async move { rc.consume(T, A, &code).await.is_ok() })
            })
            .collect();
        let mut passed = 0;
        for h in handles {
            passed += usize::from(h.await.unwrap());
        }
        assert_eq!(passed, 1);
        assert_eq!(rc.remaining(T, A).await.unwrap(), 9);
    }

    #[tokio::test]
    async fn r20_remove() {
        let (rc, _, _d) = setup().await;
        rc.generate(T, A).await.unwrap();
        assert!(rc.remove(T, A).await.unwrap());
        assert!(!rc.remove(T, A).await.unwrap());
        assert_eq!(rc.remaining(T, A).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn r20_codes_are_digested_under_the_server_key() {
        let (rc, store, _d) = setup().await;
        let codes = rc.generate(T, A).await.unwrap();
        let other_key = RecoveryCodes::new(store, Arc::new(ManualClock::new()), Arc::new(Sealer::new([8; 32])));
        assert!(
            matches!(other_key.consume(T, A, &codes[0]).await, Err(Error::CodeInvalid)),
            "the store alone is not enough"
        );
        assert_eq!(rc.consume(T, A, &codes[0]).await.unwrap(), 9);
    }
}
