//! A sign-in between its first factor and its session: what it still owes (a
//! CAPTCHA a plugin asked for, a second factor) and what to show once it is done.
//! The browser holds a random token in a cookie; the store keeps its digest. It
//! lives ten minutes and survives five wrong answers.

use serde::{Deserialize, Serialize};

use crate::code::Notice;
use crate::error::{Error, Result};
use crate::store::{Record, Store};
use crate::token_record;

pub const LIFETIME: u64 = 10 * 60;
/// Wrong second-factor answers before the person must start again.
pub const MAX_FAILURES: u32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub account_id: String,
    /// Factors proven so far (`amr`).
    pub amr: Vec<String>,
    /// The authorization flow to continue, if any.
    pub flow: Option<String>,
    /// Where to go once signed in.
    pub next: String,
    /// A tenant plugin asked for a CAPTCHA (W1) that is not solved yet.
    pub owes_captcha: bool,
    /// A second factor is still needed.
    pub owes_second_factor: bool,
    /// The person may tick "remember this device".
    pub may_remember: bool,
    /// Unused: notices (R9) stay on the account until the session starts. Records
    /// written by an older version may carry notices already taken; they are shown.
    #[serde(default)]
    pub notices: Vec<Notice>,
    pub password_expired: bool,
    pub failures: u32,
    pub expires_at: u64,
}

impl Record for PendingSignIn {
    const TREE: &'static str = "pending_sign_ins";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Stores a pending sign-in; returns the cookie value.
pub fn start(store: &Store, tenant: &str, pending: &PendingSignIn) -> Result<String> {
    token_record::issue(store, tenant, pending)
}

/// The live pending sign-in behind a cookie value.
pub fn get(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<PendingSignIn>> {
    token_record::get_live(store, tenant, token, now)
}

/// Applies `f` to the live pending sign-in; `not_found` if there is none.
pub fn modify(
    store: &Store,
    tenant: &str,
    token: &str,
    now: u64,
    f: impl Fn(&mut PendingSignIn),
) -> Result<PendingSignIn> {
    token_record::update::<PendingSignIn, _>(store, tenant, token, |old| {
        let mut p = old.filter(|p| p.expires_at > now).ok_or(Error::NotFound("sign-in"))?;
        f(&mut p);
        Ok((Some(p.clone()), p))
    })
}

/// Counts a wrong answer; the sign-in ends after `MAX_FAILURES`. Returns whether it
/// is still alive.
pub fn wrong_answer(store: &Store, tenant: &str, token: &str, now: u64) -> Result<bool> {
    let p = modify(store, tenant, token, now, |p| p.failures += 1)?;
    if p.failures >= MAX_FAILURES {
        end(store, tenant, token)?;
        return Ok(false);
    }
    Ok(true)
}

/// Ends the pending sign-in behind a cookie value.
pub fn end(store: &Store, tenant: &str, token: &str) -> Result<()> {
    token_record::remove::<PendingSignIn>(store, tenant, token).map(|_| ())
}
