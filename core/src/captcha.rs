//! Self-hosted CAPTCHA as proof of work (R19): the server hands out a salted
//! challenge, the browser searches a nonce whose hash starts with enough zero bits,
//! and the answer is accepted once. No third-party service is involved.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secret;
use crate::store::{Record, Store};

/// How long a challenge can be answered, in seconds.
pub const TTL: u64 = 300;
/// The easiest difficulty `issue` hands out, in leading zero bits.
pub const MIN_DIFFICULTY: u8 = 8;
/// The hardest difficulty `issue` hands out: about 67 million hashes on average.
pub const MAX_DIFFICULTY: u8 = 26;

/// Random bytes in a challenge id; its base64url form is `ID_LEN` characters.
const ID_BYTES: usize = 12;
const ID_LEN: usize = ID_BYTES * 4 / 3;
/// Digits in `u64::MAX`; a longer nonce cannot be one.
const MAX_NONCE_DIGITS: usize = 20;

/// One proof-of-work challenge, stored per tenant under its id so that any server
/// process sharing the store can check the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    pub id: String,
    pub salt: String,
    /// Leading zero bits the answer's SHA-256 must have.
    pub difficulty: u8,
    pub expires_at: u64,
}

impl Record for Challenge {
    const TREE: &'static str = "captchas";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Issues and checks challenges.
pub struct Captchas {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Captchas {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Captchas { store, clock }
    }

    /// A fresh challenge, live for `TTL` seconds; `difficulty` is clamped to
    /// `MIN_DIFFICULTY..=MAX_DIFFICULTY`.
    pub async fn issue(&self, tenant: &str, difficulty: u8) -> Result<Challenge> {
        let challenge = Challenge {
            id: secret::token_of(ID_BYTES),
            salt: secret::token_of(16),
            difficulty: clamp(difficulty),
            expires_at: self.clock.now() + TTL,
        };
        self.store.put(tenant, &challenge.id, &challenge).await?;
        Ok(challenge)
    }

    /// For requests that must always carry an answer (R19): a missing or empty one is
    /// `Error::CaptchaRequired`, any other goes through `verify`.
    pub async fn check(&self, tenant: &str, answer: Option<&str>) -> Result<()> {
        let answer = answer.filter(|a| !a.trim().is_empty()).ok_or(Error::CaptchaRequired)?;
        self.verify(tenant, answer).await
    }

    /// Accepts `"{id}:{nonce}"` once. The challenge is removed on the first
    /// attempt whatever its outcome, so an answer cannot be replayed and a wrong
    /// one cannot be retried. Any failure is `Error::CaptchaFailed`.
    pub async fn verify(&self, tenant: &str, answer: &str) -> Result<()> {
        let (id, nonce) = answer.split_once(':').ok_or(Error::CaptchaFailed)?;
        // Only ids `issue` could have made reach the store.
        if id.len() != ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::CaptchaFailed);
        }
        // Removing first makes the check single use even under concurrent attempts:
        // only one of them gets the record back.
        let now = self.clock.now();
        let challenge = self
            .store
            .remove::<Challenge>(tenant, id)
            .await?
            .filter(|c| c.expires_at > now)
            .ok_or(Error::CaptchaFailed)?;
        let nonce = parse_nonce(nonce).ok_or(Error::CaptchaFailed)?;
        if leading_zero_bits(&work(&challenge.salt, nonce)) < u32::from(challenge.difficulty) {
            return Err(Error::CaptchaFailed);
        }
        Ok(())
    }
}

/// The smallest nonce that answers a challenge with this salt and difficulty
/// (clamped as `issue` does). What the browser widget computes; for tests and
/// scripted clients.
pub fn solve(salt: &str, difficulty: u8) -> u64 {
    let bits = u32::from(clamp(difficulty));
    (0..=u64::MAX).find(|&n| leading_zero_bits(&work(salt, n)) >= bits).unwrap_or(u64::MAX)
}

/// How many zero bits `digest` starts with.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut bits = 0;
    for &b in digest {
        bits += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    bits
}

fn clamp(difficulty: u8) -> u8 {
    difficulty.clamp(MIN_DIFFICULTY, MAX_DIFFICULTY)
}

/// SHA-256 of `"{salt}:{nonce}"`, the nonce in plain decimal.
fn work(salt: &str, nonce: u64) -> [u8; 32] {
    Sha256::digest(format!("{salt}:{nonce}").as_bytes()).into()
}

/// A decimal u64 and nothing else (no sign, spaces or exponent).
fn parse_nonce(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_NONCE_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const T: &str = "t";

    fn setup() -> (Captchas, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(ManualClock::new());
        (Captchas::new(store, clock.clone()), clock, dir)
    }

    fn answer(c: &Challenge) -> String {
        format!("{}:{}", c.id, solve(&c.salt, c.difficulty))
    }

    fn failed(r: Result<()>) -> bool {
        matches!(r, Err(Error::CaptchaFailed))
    }

    #[tokio::test]
    async fn r19_solved_challenge_is_accepted() {
        let (captchas, ..) = setup();
        let c = captchas.issue(T, 12).await.unwrap();
        assert_eq!(c.difficulty, 12);
        assert!(leading_zero_bits(&work(&c.salt, solve(&c.salt, 12))) >= 12);
        captchas.verify(T, &answer(&c)).await.unwrap();
    }

    #[tokio::test]
    async fn r19_check_requires_an_answer_then_verifies_it() {
        let (captchas, ..) = setup();
        assert!(matches!(captchas.check(T, None).await, Err(Error::CaptchaRequired)));
        assert!(matches!(captchas.check(T, Some("")).await, Err(Error::CaptchaRequired)));
        assert!(matches!(captchas.check(T, Some("  ")).await, Err(Error::CaptchaRequired)));
        assert!(failed(captchas.check(T, Some("nope:1")).await));
        let c = captchas.issue(T, 8).await.unwrap();
        let a = answer(&c);
        captchas.check(T, Some(&a)).await.unwrap();
        assert!(failed(captchas.check(T, Some(&a)).await));
    }

    #[tokio::test]
    async fn r19_answer_cannot_be_reused() {
        let (captchas, ..) = setup();
        let c = captchas.issue(T, 10).await.unwrap();
        let a = answer(&c);
        captchas.verify(T, &a).await.unwrap();
        assert!(failed(captchas.verify(T, &a).await));
    }

    #[tokio::test]
    async fn r19_wrong_nonce_fails_and_burns_the_challenge() {
        let (captchas, ..) = setup();
        let c = captchas.issue(T, 16).await.unwrap();
        let right = solve(&c.salt, c.difficulty);
        // The smallest valid nonce is the first one; everything below it is wrong.
        let wrong = if right > 0 { 0 } else { (1..).find(|&n| leading_zero_bits(&work(&c.salt, n)) < 16).unwrap() };
        assert!(failed(captchas.verify(T, &format!("{}:{wrong}", c.id)).await));
        assert!(failed(captchas.verify(T, &format!("{}:{right}", c.id)).await));
    }

    #[tokio::test]
    async fn r19_expired_challenge_fails() {
        let (captchas, clock, ..) = setup();
        let c = captchas.issue(T, 8).await.unwrap();
        clock.advance(TTL + 1);
        assert!(failed(captchas.verify(T, &answer(&c)).await));
    }

    #[tokio::test]
    async fn r19_challenge_of_another_tenant_fails() {
        let (captchas, ..) = setup();
        let c = captchas.issue("other", 8).await.unwrap();
        assert!(failed(captchas.verify(T, &answer(&c)).await));
        // The failed attempt under the wrong tenant did not touch the real one.
        captchas.verify("other", &answer(&c)).await.unwrap();
    }

    #[tokio::test]
    async fn r19_malformed_answers_fail_without_panicking() {
        let (captchas, ..) = setup();
        let c = captchas.issue(T, 8).await.unwrap();
        let n = solve(&c.salt, c.difficulty);
        let long = "9".repeat(100_000);
        for bad in [
            String::new(),
            ":".into(),
            c.id.clone(),
            format!("{}:", c.id),
            format!(":{n}"),
            format!("{n}:{}", c.id),
            format!("{}x:{n}", c.id),
            format!("{}:{n}:{n}", c.id),
            format!("{}: {n}", c.id),
            format!("{}:+{n}", c.id),
            format!("{}:-1", c.id),
            format!("{}:{n}.0", c.id),
            format!("{}:18446744073709551616", c.id),
            format!("{}:{long}", c.id),
            format!("{long}:{n}"),
            format!("{}/../{}:{n}", T, c.id),
            "é".repeat(ID_LEN / 2) + ":1",
        ] {
            assert!(failed(captchas.verify(T, &bad).await), "{bad:.40}");
        }
    }

    #[tokio::test]
    async fn r19_difficulty_is_clamped() {
        let (captchas, ..) = setup();
        assert_eq!(captchas.issue(T, 0).await.unwrap().difficulty, MIN_DIFFICULTY);
        assert_eq!(captchas.issue(T, 17).await.unwrap().difficulty, 17);
        assert_eq!(captchas.issue(T, 255).await.unwrap().difficulty, MAX_DIFFICULTY);
        // solve clamps the same way, so it never searches for an impossible hash.
        assert_eq!(solve("s", 0), solve("s", MIN_DIFFICULTY));
    }

    #[test]
    fn r19_solve_agrees_with_the_browser_widget() {
        // The nonce provider/assets/captcha.js (the captcha.html widget) finds for this salt at
        // difficulty 16 (run once under node).
        assert_eq!(solve("R19-fixed-salt", 16), 27607);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x01, 0x00]), 15);
        assert_eq!(leading_zero_bits(&[0x00, 0x00]), 16);
        assert_eq!(leading_zero_bits(&[]), 0);
    }
}
