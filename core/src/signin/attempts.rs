//! Failed sign-ins (R19). Per account: after a few wrong passwords in a row each
//! further try waits twice as long as the last (capped), and no account takes more
//! than 100 failures in any hour (NIST SP 800-63B §5.2.2); nothing locks an account
//! for longer than that hour. Per IP: many failures bring a CAPTCHA to every sign-in
//! from it, then a pause until the hour ends. Unknown identifiers are counted like
//! accounts, so the answers do not tell which exist.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secret;
use crate::settings::SignInSettings;
use crate::store::{Record, Store};

const HOUR: u64 = 3600;

/// Recent failures of one account (or one unknown identifier).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Failures {
    /// When each failure of the last hour happened, oldest first.
    pub recent: Vec<u64>,
    /// Failures since the last success.
    pub in_a_row: u32,
    pub last: u64,
}

impl Record for Failures {
    const TREE: &'static str = "sign_in_failures";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.last + HOUR)
    }
}

/// Failures from one IP in a one-hour window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IpFailures {
    pub window_start: u64,
    pub count: u32,
}

impl Record for IpFailures {
    const TREE: &'static str = "ip_failures";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.window_start + HOUR)
    }
}

/// Whose failures a sign-in counts against.
pub enum Subject<'a> {
    Account(&'a str),
    /// An identifier no account holds (stored as a digest).
    Unknown(&'a str),
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Subject::Account(id) => format!("a/{id}"),
            Subject::Unknown(identifier) => format!("u/{}", secret::digest(&identifier.to_lowercase())),
        }
    }
}

/// What a sign-in may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// A solved CAPTCHA must come with the try.
    pub captcha: bool,
}

pub struct Attempts {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Attempts {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Attempts { store, clock }
    }

    /// Before a secret is checked: `rate_limited` (with when to retry) if the subject
    /// or the IP must wait, else whether a CAPTCHA is needed. Changes nothing. An
    /// empty `ip` (a re-check inside a session) counts against the subject only.
    pub fn check(&self, tenant: &str, rules: &SignInSettings, who: &Subject<'_>, ip: &str) -> Result<Gate> {
        let now = self.clock.now();
        let window = match ip {
            "" => None,
            ip => self.store.get_live::<IpFailures>(tenant, &ip_key(ip), now)?,
        };
        let ip_count = window.as_ref().map_or(0, |w| w.count);
        if let Some(w) = window
            && ip_count >= rules.max_ip_failures_per_hour
        {
            return Err(Error::RateLimited { retry_after: (w.window_start + HOUR).saturating_sub(now).max(1) });
        }
        let f = self.store.get_live::<Failures>(tenant, &who.key(), now)?.unwrap_or_default();
        let recent: Vec<u64> = f.recent.iter().copied().filter(|t| t + HOUR > now).collect();
        if recent.len() >= rules.failures_per_hour() as usize {
            let oldest = recent.first().copied().unwrap_or(now);
            return Err(Error::RateLimited { retry_after: (oldest + HOUR).saturating_sub(now).max(1) });
        }
        if let Some(wait) = backoff(rules, f.in_a_row) {
            let until = f.last + wait;
            if now < until {
                return Err(Error::RateLimited { retry_after: until - now });
            }
        }
        let captcha =
            (f.in_a_row >= rules.captcha_after && !recent.is_empty()) || ip_count >= rules.captcha_after_ip_failures;
        Ok(Gate { captcha })
    }

    /// Whether sign-ins from `ip` need a CAPTCHA whoever they are for.
    pub fn ip_needs_captcha(&self, tenant: &str, rules: &SignInSettings, ip: &str) -> Result<bool> {
        Ok(self.ip_count(tenant, ip, self.clock.now())? >= rules.captcha_after_ip_failures)
    }

    /// Counts a failed try against the subject and the IP.
    pub fn failed(&self, tenant: &str, rules: &SignInSettings, who: &Subject<'_>, ip: &str) -> Result<()> {
        let now = self.clock.now();
        let cap = rules.failures_per_hour() as usize;
        self.store.update::<Failures, _>(tenant, &who.key(), |old| {
            let mut f = old.filter(|f| f.last + HOUR > now).unwrap_or_default();
            f.recent.retain(|t| t + HOUR > now);
            f.recent.push(now);
            if f.recent.len() > cap {
                let extra = f.recent.len() - cap;
                f.recent.drain(..extra);
            }
            f.in_a_row = f.in_a_row.saturating_add(1);
            f.last = now;
            Ok((Some(f), ()))
        })?;
        if ip.is_empty() {
            return Ok(());
        }
        self.store.update::<IpFailures, _>(tenant, &ip_key(ip), |old| {
            let mut w =
                old.filter(|w| w.window_start + HOUR > now).unwrap_or(IpFailures { window_start: now, count: 0 });
            w.count = w.count.saturating_add(1);
            Ok((Some(w), ()))
        })
    }

    /// A success clears the subject's failures (not the IP's).
    pub fn succeeded(&self, tenant: &str, who: &Subject<'_>) -> Result<()> {
        self.store.remove::<Failures>(tenant, &who.key()).map(|_| ())
    }

    fn ip_count(&self, tenant: &str, ip: &str, now: u64) -> Result<u32> {
        Ok(self.store.get_live::<IpFailures>(tenant, &ip_key(ip), now)?.map_or(0, |w| w.count))
    }
}

fn ip_key(ip: &str) -> String {
    format!("ip/{}", ip.chars().take(64).collect::<String>())
}

/// Seconds the next try must wait after `in_a_row` failures, if any.
fn backoff(rules: &SignInSettings, in_a_row: u32) -> Option<u64> {
    let over = in_a_row.checked_sub(rules.backoff_after)?;
    Some(2u64.saturating_pow(over).min(rules.backoff_max.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn setup() -> (Attempts, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(ManualClock::new());
        (Attempts::new(store, clock.clone()), clock, dir)
    }

    fn retry_after(r: Result<Gate>) -> u64 {
        match r {
            Err(Error::RateLimited { retry_after }) => retry_after,
            other => panic!("expected rate_limited, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn r19_backoff_doubles_and_success_clears_it() {
        let (a, clock, _d) = setup();
        let rules = SignInSettings::default();
        let who = Subject::Account("1");
        for _ in 0..5 {
            assert!(a.check("t", &rules, &who, "ip").is_ok());
            a.failed("t", &rules, &who, "ip").unwrap();
        }
        assert_eq!(retry_after(a.check("t", &rules, &who, "ip")), 1);
        clock.advance(1);
        a.failed("t", &rules, &who, "ip").unwrap();
        assert_eq!(retry_after(a.check("t", &rules, &who, "ip")), 2);
        a.succeeded("t", &who).unwrap();
        assert_eq!(a.check("t", &rules, &who, "ip").unwrap(), Gate { captcha: false });
    }

    #[tokio::test]
    async fn r19_the_101st_failure_in_an_hour_waits_for_the_oldest_to_age_out() {
        let (a, clock, _d) = setup();
        let rules = SignInSettings { max_failures_per_hour: 1000, captcha_after: 1000, ..Default::default() };
        let who = Subject::Unknown("someone@example.com");
        for _ in 0..100 {
            match a.check("t", &rules, &who, "ip") {
                Err(Error::RateLimited { retry_after }) => clock.advance(retry_after),
                other => {
                    other.unwrap();
                }
            }
            a.failed("t", &rules, &who, "ip").unwrap();
        }
        let wait = retry_after(a.check("t", &rules, &who, "ip"));
        assert!(wait > 30, "the hourly cap, not the backoff, holds: {wait}");
        clock.advance(wait);
        assert!(a.check("t", &rules, &who, "ip").is_ok(), "never locked for good");
    }

    #[tokio::test]
    async fn r19_captcha_after_failures_in_a_row_and_from_a_busy_ip() {
        let (a, _clock, _d) = setup();
        let rules = SignInSettings { captcha_after_ip_failures: 5, ..Default::default() };
        let who = Subject::Account("1");
        for _ in 0..3 {
            a.failed("t", &rules, &who, "10.0.0.1").unwrap();
        }
        assert!(a.check("t", &rules, &who, "10.0.0.2").unwrap().captcha);
        for i in 0..2 {
            a.failed("t", &rules, &Subject::Account(&i.to_string()), "10.0.0.1").unwrap();
        }
        assert!(a.ip_needs_captcha("t", &rules, "10.0.0.1").unwrap());
        assert!(!a.ip_needs_captcha("t", &rules, "10.0.0.2").unwrap());
        assert!(a.check("t", &rules, &Subject::Account("9"), "10.0.0.1").unwrap().captcha);
    }
}
