//! Wrong device user codes are throttled (P8, RFC 8628 §5.1): a user code has about
//! 35 bits, so the page that takes it must not be a guessing oracle. Each try is
//! reserved before the code is looked up, in one transaction over the account's and
//! the IP's counters, so a burst of parallel guesses is capped like a sequence: after
//! `backoff_after` wrong codes in a row each further try waits twice as long (up to
//! `backoff_max`), an account takes at most `max_failures_per_hour`, an IP at most
//! `max_ip_failures_per_hour`. A try that finds a real code gives its reservation
//! back. Wrong and refused tries are audited. The reserve/settle protocol is the
//! shared `limit::Limiter`; here are the user-code window and its rule.

use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::limit::{HOUR, InFlight, Limiter, Outcome, Reservation, Window, backoff};
use crate::settings::DeviceCodeSettings;
use crate::store::{Record, Store};

/// Who is typing a user code: the signed-in account and the request's IP.
pub struct Guesser<'a> {
    pub account_id: &'a str,
    pub ip: &'a str,
}

/// Recent tries of one account or one IP (reserved, then kept if wrong).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserCodeGuesses {
    /// When each try of the last hour was reserved, oldest first.
    pub recent: Vec<u64>,
    /// Tries since the last right code.
    pub in_a_row: u32,
    pub last: u64,
}

impl Record for UserCodeGuesses {
    const TREE: &'static str = "device_code_guesses";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.last + HOUR)
    }
}

impl Window for UserCodeGuesses {
    type Rules = ();

    /// The tries of the last hour; none once an hour passed since the last one.
    fn at(self, now: u64) -> UserCodeGuesses {
        let mut g = if self.last + HOUR > now { self } else { UserCodeGuesses::default() };
        g.recent.retain(|t| t + HOUR > now);
        g
    }

    /// A reserved try counts as wrong until it is given back.
    fn hold(&mut self, held: InFlight) {
        self.recent.push(held.at);
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.last = held.at;
    }

    /// A wrong code keeps the try; any other outcome gives back the one reserved then.
    fn settle(&mut self, held: InFlight, outcome: Outcome, _rules: &(), _now: u64) {
        if outcome == Outcome::Failed {
            return;
        }
        if let Some(at) = self.recent.iter().rposition(|t| *t == held.at) {
            self.recent.remove(at);
        }
        self.in_a_row = self.in_a_row.saturating_sub(1);
    }

    fn is_empty(&self) -> bool {
        self.recent.is_empty() && self.in_a_row == 0
    }
}

fn account_key(account_id: &str) -> String {
    format!("a/{account_id}")
}

fn limiter(store: &Store) -> Limiter<'_, UserCodeGuesses, UserCodeGuesses> {
    Limiter::new(store)
}

/// Seconds until the oldest try of the hour ages out.
fn until_hour_ends(g: &UserCodeGuesses, now: u64) -> u64 {
    g.recent.first().map_or(1, |t| (t + HOUR).saturating_sub(now).max(1))
}

/// Whether one more try may go given the account's and the IP's tries.
fn admit(rules: &DeviceCodeSettings, account: &UserCodeGuesses, ip: &UserCodeGuesses, now: u64) -> Result<()> {
    if ip.recent.len() >= rules.max_ip_failures_per_hour.max(1) as usize {
        return Err(Error::RateLimited { retry_after: until_hour_ends(ip, now) });
    }
    if account.recent.len() >= rules.max_failures_per_hour.max(1) as usize {
        return Err(Error::RateLimited { retry_after: until_hour_ends(account, now) });
    }
    if let Some(wait) = backoff(account.in_a_row, rules.backoff_after, rules.backoff_max)
        && now < account.last + wait
    {
        return Err(Error::RateLimited { retry_after: account.last + wait - now });
    }
    Ok(())
}

/// Reserves one try for `who`, or refuses with `rate_limited` and when to retry.
pub(super) async fn reserve(
    store: &Store,
    tenant: &str,
    rules: &DeviceCodeSettings,
    who: &Guesser<'_>,
    now: u64,
) -> Result<()> {
    let limiter = limiter(store);
    let (_kept, ()) = limiter
        .reserve(tenant, account_key(who.account_id), Some(who.ip), now, |account, ip| {
            admit(rules, account, ip.unwrap_or(&UserCodeGuesses::default()), now)
        })
        .await?;
    Ok(())
}

/// Gives back a reservation made at `now` whose code turned out right (found by
/// when it was reserved, as the windows keep no reservation ids).
pub(super) async fn release(store: &Store, tenant: &str, who: &Guesser<'_>, now: u64) -> Result<()> {
    let held = Reservation::rebuilt(account_key(who.account_id), Some(who.ip), InFlight { id: 0, at: now });
    limiter(store).settle(tenant, held, Outcome::Released, &(), now).await
}

/// Records a wrong or refused try in the tenant's audit log.
pub(super) async fn audit(store: &Store, tenant: &str, who: &Guesser<'_>, action: &str, now: u64) -> Result<()> {
    let event = AuditEvent::new(now, who.account_id, action).ip(Some(who.ip));
    audit::record(store, tenant, &event).await
}
