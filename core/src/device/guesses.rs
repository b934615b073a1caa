//! Wrong device user codes are throttled (P8, RFC 8628 §5.1): a user code has about
//! 35 bits, so the page that takes it must not be a guessing oracle. Each try is
//! reserved before the code is looked up, in one transaction over the account's and
//! the IP's counters, so a burst of parallel guesses is capped like a sequence: after
//! `backoff_after` wrong codes in a row each further try waits twice as long (up to
//! `backoff_max`), an account takes at most `max_failures_per_hour`, an IP at most
//! `max_ip_failures_per_hour`. A try that finds a real code gives its reservation
//! back. Wrong and refused tries are audited.

use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::settings::DeviceCodeSettings;
use crate::store::{Record, Store, abort};

const HOUR: u64 = 3600;

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

fn account_key(account_id: &str) -> String {
    format!("a/{account_id}")
}

fn ip_key(ip: &str) -> String {
    format!("ip/{}", ip.chars().take(64).collect::<String>())
}

fn live(old: Option<UserCodeGuesses>, now: u64) -> UserCodeGuesses {
    let mut g = old.filter(|g| g.last + HOUR > now).unwrap_or_default();
    g.recent.retain(|t| t + HOUR > now);
    g
}

/// Seconds until the oldest try of the hour ages out.
fn until_hour_ends(g: &UserCodeGuesses, now: u64) -> u64 {
    g.recent.first().map_or(1, |t| (t + HOUR).saturating_sub(now).max(1))
}

/// Reserves one try for `who`, or refuses with `rate_limited` and when to retry.
pub(super) fn reserve(
    store: &Store,
    tenant: &str,
    rules: &DeviceCodeSettings,
    who: &Guesser<'_>,
    now: u64,
) -> Result<()> {
    let (akey, ikey) = (account_key(who.account_id), ip_key(who.ip));
    store.transaction(&[UserCodeGuesses::TREE], |tx| {
        let mut account = live(tx.get::<UserCodeGuesses>(tenant, &akey)?, now);
        let mut ip = live(tx.get::<UserCodeGuesses>(tenant, &ikey)?, now);
        if ip.recent.len() >= rules.max_ip_failures_per_hour.max(1) as usize {
            return abort(Error::RateLimited { retry_after: until_hour_ends(&ip, now) });
        }
        if account.recent.len() >= rules.max_failures_per_hour.max(1) as usize {
            return abort(Error::RateLimited { retry_after: until_hour_ends(&account, now) });
        }
        if let Some(over) = account.in_a_row.checked_sub(rules.backoff_after) {
            let wait = 2u64.saturating_pow(over).min(rules.backoff_max.max(1));
            if now < account.last + wait {
                return abort(Error::RateLimited { retry_after: account.last + wait - now });
            }
        }
        for g in [&mut account, &mut ip] {
            g.recent.push(now);
            g.in_a_row = g.in_a_row.saturating_add(1);
            g.last = now;
        }
        tx.put(tenant, &akey, &account)?;
        tx.put(tenant, &ikey, &ip)?;
        Ok(())
    })
}

/// Gives back a reservation made at `now` whose code turned out right.
pub(super) fn release(store: &Store, tenant: &str, who: &Guesser<'_>, now: u64) -> Result<()> {
    for key in [account_key(who.account_id), ip_key(who.ip)] {
        store.update::<UserCodeGuesses, _>(tenant, &key, |old| {
            let Some(mut g) = old else { return Ok((None, ())) };
            if let Some(at) = g.recent.iter().rposition(|t| *t == now) {
                g.recent.remove(at);
            }
            g.in_a_row = g.in_a_row.saturating_sub(1);
            Ok((Some(g), ()))
        })?;
    }
    Ok(())
}

/// Records a wrong or refused try in the tenant's audit log.
pub(super) fn audit(store: &Store, tenant: &str, who: &Guesser<'_>, action: &str, now: u64) -> Result<()> {
    let event = AuditEvent {
        at: now,
        actor: who.account_id.to_string(),
        action: action.to_string(),
        subject: None,
        ip: Some(who.ip.to_string()),
        client: None,
        detail: serde_json::Value::Null,
    };
    audit::record(store, tenant, &event)
}
