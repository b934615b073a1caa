//! Authenticator-app codes (TOTP, RFC 6238) as a second step (R20): enrolment with
//! a confirmation code, then single-use codes within one step either side of now.
//! The seed is sealed at rest, bound to its tenant and account.

use std::fmt;
use std::sync::Arc;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret, Totp};

use crate::clock::Clock;
use crate::error::{Error, Field, Refusal, Resource, Result};
use crate::seal::Sealer;
use crate::secret;
use crate::store::{Record, Store};

/// Seconds per code: what every authenticator app uses.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one (clock drift, typing time).
const SKEW: u64 = 1;
/// Seed length: 160 bits, RFC 4226's recommendation.
const SECRET_LEN: usize = 20;

/// An account's authenticator, keyed by account id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotpRecord {
    /// The seed, sealed with context `totp/{tenant}/{account}`.
    sealed_secret: String,
    /// False until a first code proved the app holds the seed.
    confirmed: bool,
    /// The last step whose code was accepted; only later steps are accepted after it.
    last_used_step: u64,
    created_at: u64,
}

impl Record for TotpRecord {
    const TREE: &'static str = "totp";
    const VERSION: u32 = 1;
}

/// What the person needs to add the account to their app. Shown once.
#[derive(Clone)]
pub struct Enrolment {
    /// The seed in base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/...` URI, for the QR code.
    pub uri: String,
}

impl fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrolment").field("secret", &"..").field("uri", &"..").finish()
    }
}

/// Whether an account has an authenticator, for the account center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpStatus {
    pub confirmed: bool,
    pub created_at: u64,
}

/// The authenticator-app service.
pub struct Totps {
    store: Store,
    clock: Arc<dyn Clock>,
    sealer: Arc<Sealer>,
}

fn context(tenant: &str, account_id: &str) -> String {
    format!("totp/{tenant}/{account_id}")
}

/// SHA-1, 6 digits, 30 s: the parameters every app supports, left out of the URI.
fn builder(secret: Vec<u8>) -> Builder {
    Builder::new().with_secret(secret).with_digits(DIGITS as u8).with_step_duration(STEP).with_skew(SKEW as u16)
}

fn build(secret: Vec<u8>) -> Result<Totp> {
    builder(secret).build().map_err(|_| Error::invalid(Field::Secret, "not a usable TOTP seed"))
}

fn code_for_step(totp: &Totp, step: u64) -> String {
    totp.generate(step.saturating_mul(STEP)).to_string()
}

/// The code as typed, without the spaces apps show in the middle; `None` unless
/// exactly six ASCII digits.
fn normalise(code: &str) -> Option<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The latest step within `now` ± SKEW whose code is `code` and that comes after
/// `last_used`. Every step of the window is computed and compared in constant time.
fn matching_step(totp: &Totp, code: &str, now: u64, last_used: u64) -> Option<u64> {
    let current = now / STEP;
    let mut found = None;
    for step in current.saturating_sub(SKEW)..=current.saturating_add(SKEW) {
        let hit = secret::eq(&code_for_step(totp, step), code);
        if hit && step > last_used {
            found = Some(step);
        }
    }
    found
}

/// What an authenticator app holding `secret_base32` shows at `unix_time` (tests,
/// the e2e kit).
pub fn code_at(secret_base32: &str, unix_time: u64) -> Result<String> {
    let cleaned: String =
        secret_base32.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
    let secret = Secret::try_from_base32(&cleaned).map_err(|_| Error::invalid(Field::Secret, "not base32"))?;
    Ok(build(secret.as_bytes().to_vec())?.generate(unix_time).to_string())
}

impl Totps {
    pub fn new(store: Store, clock: Arc<dyn Clock>, sealer: Arc<Sealer>) -> Self {
        Totps { store, clock, sealer }
    }

    /// Starts (or restarts) enrolment with a fresh seed; `issuer` and `label` are what
    /// the app displays (colons, which the URI format reserves, become spaces).
    /// Refused with `totp_already_enabled` when a confirmed authenticator exists.
    pub async fn begin(&self, tenant: &str, account_id: &str, issuer: &str, label: &str) -> Result<Enrolment> {
        let mut seed = vec![0u8; SECRET_LEN];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let issuer = issuer.replace(':', " ").trim().to_string();
        let label = match label.replace(':', " ").trim() {
            "" => account_id.replace(':', " "),
            l => l.to_string(),
        };
        let totp = builder(seed.clone())
            .with_issuer((!issuer.is_empty()).then_some(issuer))
            .with_account_name(label)
            .build()
            .map_err(|_| Error::invalid(Field::Label, "not usable in an authenticator app"))?;
        let uri = totp.to_url().map_err(|_| Error::invalid(Field::Label, "not usable in an authenticator app"))?;
        let enrolment = Enrolment { secret: totp.secret().to_base32(), uri };
        let record = TotpRecord {
            sealed_secret: self.sealer.seal(&context(tenant, account_id), &seed)?,
            confirmed: false,
            last_used_step: 0,
            created_at: self.clock.now(),
        };
        self.store
            .update::<TotpRecord, _>(tenant, account_id, |old| match old {
                Some(r) if r.confirmed => Err(Error::Refused(Refusal::TotpAlreadyEnabled)),
                _ => Ok((Some(record.clone()), ())),
            })
            .await?;
        Ok(enrolment)
    }

    /// Completes enrolment with a code from the app. The code's step counts as used,
    /// so the same code cannot also sign in.
    pub async fn confirm(&self, tenant: &str, account_id: &str, code: &str) -> Result<()> {
        self.accept(tenant, account_id, code, false).await
    }

    /// Checks a sign-in code of a confirmed authenticator; each code is accepted once,
    /// and never after a later one.
    pub async fn verify(&self, tenant: &str, account_id: &str, code: &str) -> Result<()> {
        self.accept(tenant, account_id, code, true).await
    }

    async fn accept(&self, tenant: &str, account_id: &str, code: &str, confirmed: bool) -> Result<()> {
        let now = self.clock.now();
        let code = normalise(code);
        let ctx = context(tenant, account_id);
        self.store
            .update::<TotpRecord, _>(tenant, account_id, |old| {
                let mut record = match old {
                    Some(r) if r.confirmed == confirmed => r,
                    Some(r) if r.confirmed => return Err(Error::Refused(Refusal::TotpAlreadyEnabled)),
                    _ if confirmed => return Err(Error::NotFound(Resource::Authenticator)),
                    _ => return Err(Error::NotFound(Resource::AuthenticatorEnrolment)),
                };
                let Some(code) = code.as_deref() else { return Err(Error::CodeInvalid) };
                let totp = build(self.sealer.open(&ctx, &record.sealed_secret)?)?;
                let step = matching_step(&totp, code, now, record.last_used_step).ok_or(Error::CodeInvalid)?;
                record.confirmed = true;
                record.last_used_step = step;
                Ok((Some(record), ()))
            })
            .await
    }

    /// The account's authenticator, if any.
    pub async fn status(&self, tenant: &str, account_id: &str) -> Result<Option<TotpStatus>> {
        Ok(self
            .store
            .get::<TotpRecord>(tenant, account_id)
            .await?
            .map(|r| TotpStatus { confirmed: r.confirmed, created_at: r.created_at }))
    }

    /// Removes the account's authenticator (confirmed or not); false if there was none.
    pub async fn remove(&self, tenant: &str, account_id: &str) -> Result<bool> {
        Ok(self.store.remove::<TotpRecord>(tenant, account_id).await?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const T: &str = "t";
    const A: &str = "acct1";

    async fn setup() -> (Totps, Arc<ManualClock>, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(ManualClock::new());
        let totps = Totps::new(store.clone(), clock.clone(), Arc::new(Sealer::new([3u8; 32])));
        (totps, clock, store, dir)
    }

    /// Enrols and confirms with the current code; returns the base32 seed.
    async fn enrol(totps: &Totps, clock: &ManualClock) -> String {
        let e = totps.begin(T, A, "Latchkey", "ada@example.com").await.unwrap();
        totps.confirm(T, A, &code_at(&e.secret, clock.now()).unwrap()).await.unwrap();
        e.secret
    }

    /// Moves the clock to the start of a step so ± steps are exact.
    fn align(clock: &ManualClock) {
        clock.advance(STEP - clock.now() % STEP);
    }

    #[test]
    fn r20_code_at_matches_rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last six digits.
        let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(code_at(seed, 59).unwrap(), "287082");
        assert_eq!(code_at(seed, 1111111109).unwrap(), "081804");
        assert_eq!(code_at(&seed.to_lowercase(), 2000000000).unwrap(), "279037");
        assert!(code_at("not base32!", 59).is_err());
    }

    #[tokio::test]
    async fn r20_begin_gives_uri_and_160_bit_secret() {
        let (totps, _, _, _d) = setup().await;
        let e = totps.begin(T, A, "Acme: Staging", "ada@example.com").await.unwrap();
        assert_eq!(Secret::try_from_base32(&e.secret).unwrap().as_bytes().len(), 20);
        assert!(e.uri.starts_with("otpauth://totp/Acme%20%20Staging:ada%40example.com?"), "{}", e.uri);
        assert!(e.uri.contains(&format!("secret={}", e.secret)));
        assert!(e.uri.contains("issuer=Acme%20%20Staging"));
        assert_eq!(totps.status(T, A).await.unwrap().map(|s| s.confirmed), Some(false));
    }

    #[tokio::test]
    async fn r20_confirm_then_verify() {
        let (totps, clock, _, _d) = setup().await;
        align(&clock);
        let secret = enrol(&totps, &clock).await;
        assert_eq!(totps.status(T, A).await.unwrap().map(|s| s.confirmed), Some(true));
        // The confirmation code itself cannot sign in.
        let same = code_at(&secret, clock.now()).unwrap();
        assert!(matches!(totps.verify(T, A, &same).await, Err(Error::CodeInvalid)));
        clock.advance(STEP);
        totps.verify(T, A, &code_at(&secret, clock.now()).unwrap()).await.unwrap();
    }

    #[tokio::test]
    async fn r20_confirm_rejects_wrong_code_and_missing_enrolment() {
        let (totps, clock, _, _d) = setup().await;
        assert!(matches!(totps.confirm(T, A, "123456").await, Err(Error::NotFound(_))));
        let e = totps.begin(T, A, "Latchkey", "ada").await.unwrap();
        let right = code_at(&e.secret, clock.now()).unwrap();
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(matches!(totps.confirm(T, A, &wrong).await, Err(Error::CodeInvalid)));
        assert_eq!(totps.status(T, A).await.unwrap().map(|s| s.confirmed), Some(false));
        totps.confirm(T, A, &right).await.unwrap();
    }

    #[tokio::test]
    async fn r20_one_step_either_side_accepted_two_refused() {
        let (totps, clock, _, _d) = setup().await;
        align(&clock);
        let secret = enrol(&totps, &clock).await;
        clock.advance(10 * STEP);
        let now = clock.now();
        let at = |t: u64| code_at(&secret, t).unwrap();
        // Two steps away either side: refused.
        assert!(matches!(totps.verify(T, A, &at(now - 2 * STEP)).await, Err(Error::CodeInvalid)));
        assert!(matches!(totps.verify(T, A, &at(now + 2 * STEP)).await, Err(Error::CodeInvalid)));
        // One step behind, then the current, then one ahead: each accepted in turn.
        totps.verify(T, A, &at(now - STEP)).await.unwrap();
        totps.verify(T, A, &at(now)).await.unwrap();
        totps.verify(T, A, &at(now + STEP)).await.unwrap();
    }

    #[tokio::test]
    async fn r20_replayed_code_refused() {
        let (totps, clock, _, _d) = setup().await;
        align(&clock);
        let secret = enrol(&totps, &clock).await;
        clock.advance(5 * STEP);
        let code = code_at(&secret, clock.now()).unwrap();
        totps.verify(T, A, &code).await.unwrap();
        assert!(matches!(totps.verify(T, A, &code).await, Err(Error::CodeInvalid)));
        // Still inside the code's window a step later: still refused.
        clock.advance(STEP);
        assert!(matches!(totps.verify(T, A, &code).await, Err(Error::CodeInvalid)));
    }

    #[tokio::test]
    async fn r20_older_code_after_newer_refused() {
        let (totps, clock, _, _d) = setup().await;
        align(&clock);
        let secret = enrol(&totps, &clock).await;
        clock.advance(5 * STEP);
        let now = clock.now();
        totps.verify(T, A, &code_at(&secret, now + STEP).unwrap()).await.unwrap();
        assert!(matches!(totps.verify(T, A, &code_at(&secret, now).unwrap()).await, Err(Error::CodeInvalid)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn r20_concurrent_use_of_one_code_passes_once() {
        let (totps, clock, _, _d) = setup().await;
        align(&clock);
        let secret = enrol(&totps, &clock).await;
        clock.advance(5 * STEP);
        let code = code_at(&secret, clock.now()).unwrap();
        let totps = Arc::new(totps);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (totps, code) = (totps.clone(), code.clone());
                tokio::spawn(async move { totps.verify(T, A, &code).await.is_ok() })
            })
            .collect();
        let mut passed = 0;
        for h in handles {
            passed += usize::from(h.await.unwrap());
        }
        assert_eq!(passed, 1);
    }

    #[tokio::test]
    async fn r20_unconfirmed_cannot_verify() {
        let (totps, clock, _, _d) = setup().await;
        assert!(matches!(totps.verify(T, A, "123456").await, Err(Error::NotFound(_))));
        let e = totps.begin(T, A, "Latchkey", "ada").await.unwrap();
        assert!(matches!(totps.verify(T, A, &code_at(&e.secret, clock.now()).unwrap()).await, Err(Error::NotFound(_))));
    }

    #[tokio::test]
    async fn r20_malformed_codes_are_invalid_not_panics() {
        let (totps, clock, _, _d) = setup().await;
        let secret = enrol(&totps, &clock).await;
        clock.advance(STEP);
        for bad in ["", "12345", "1234567", "12345a", "+12345", "１２３４５６", "-12345", "12 34 5"] {
            assert!(matches!(totps.verify(T, A, bad).await, Err(Error::CodeInvalid)), "{bad:?}");
        }
        // The spaced form apps display is accepted.
        let code = code_at(&secret, clock.now()).unwrap();
        totps.verify(T, A, &format!(" {} {} ", &code[..3], &code[3..])).await.unwrap();
    }

    #[tokio::test]
    async fn r20_begin_after_confirm_refused_and_restart_replaces_pending() {
        let (totps, clock, _, _d) = setup().await;
        let first = totps.begin(T, A, "Latchkey", "ada").await.unwrap();
        let second = totps.begin(T, A, "Latchkey", "ada").await.unwrap();
        assert_ne!(first.secret, second.secret);
        // Only the latest seed confirms (unless the two codes happen to collide).
        let old = code_at(&first.secret, clock.now()).unwrap();
        let new = code_at(&second.secret, clock.now()).unwrap();
        if old != new {
            assert!(matches!(totps.confirm(T, A, &old).await, Err(Error::CodeInvalid)));
        }
        totps.confirm(T, A, &new).await.unwrap();
        assert!(matches!(totps.begin(T, A, "Latchkey", "ada").await, Err(Error::Refused(Refusal::TotpAlreadyEnabled))));
        assert!(matches!(totps.confirm(T, A, &new).await, Err(Error::Refused(Refusal::TotpAlreadyEnabled))));
    }

    #[tokio::test]
    async fn r20_remove() {
        let (totps, clock, _, _d) = setup().await;
        enrol(&totps, &clock).await;
        assert!(totps.remove(T, A).await.unwrap());
        assert!(!totps.remove(T, A).await.unwrap());
        assert_eq!(totps.status(T, A).await.unwrap(), None);
        totps.begin(T, A, "Latchkey", "ada").await.unwrap();
    }

    #[tokio::test]
    async fn r20_seed_sealed_to_its_record() {
        let (totps, clock, store, _d) = setup().await;
        let secret = enrol(&totps, &clock).await;
        let record = store.get::<TotpRecord>(T, A).await.unwrap().unwrap();
        assert!(!record.sealed_secret.contains(&secret));
        // Copied to another account, the sealed seed does not open.
        store.put(T, "acct2", &TotpRecord { last_used_step: 0, ..record }).await.unwrap();
        clock.advance(STEP);
        assert!(matches!(
            totps.verify(T, "acct2", &code_at(&secret, clock.now()).unwrap()).await,
            Err(Error::Crypto(_))
        ));
    }
}
