//! Failed sign-ins (R19). Per account: after a few wrong passwords in a row each
//! further try waits twice as long as the last (capped), and no account takes more
//! than 100 failures in any hour (NIST SP 800-63B §5.2.2); nothing locks an account
//! for longer than that hour. Per IP: many failures bring a CAPTCHA to every sign-in
//! from it, then a pause until the hour ends. Unknown identifiers are counted like
//! accounts, so the answers do not tell which exist.
//!
//! A try is reserved before its secret is checked (`reserve`: one transaction over
//! the subject's and the IP's records that checks the limits counting the tries
//! still in flight, and records this one) and settled after (`settle`). So a burst
//! of parallel guesses meets the same backoff, cap and CAPTCHA as guesses one after
//! another. A reservation never settled (a crash, a dropped request) ages out after
//! `RESERVATION_TTL`. The reserve/settle protocol is the shared `limit::Limiter`;
//! this module holds the sign-in windows and their rule (`decide`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::limit::{HOUR, Limiter, Reservation, Window, backoff};
pub use crate::limit::{InFlight, Outcome};
use crate::secret;
use crate::settings::SignInSettings;
use crate::store::{Record, Store};

/// Seconds an unsettled try holds its place. Long enough for the slowest check (a
/// password hash waiting for a free hashing thread), short enough that a crashed
/// request locks nobody out.
pub const RESERVATION_TTL: u64 = 10;

fn live_flights(v: &mut Vec<InFlight>, now: u64) {
    v.retain(|r| r.at + RESERVATION_TTL > now);
}

fn flights_end(v: &[InFlight]) -> u64 {
    v.iter().map(|r| r.at + RESERVATION_TTL).max().unwrap_or(0)
}

/// Recent failures of one account (or one unknown identifier).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Failures {
    /// When each failure of the last hour happened, oldest first.
    pub recent: Vec<u64>,
    /// Failures since the last success.
    pub in_a_row: u32,
    pub last: u64,
    /// Tries reserved and not settled yet.
    #[serde(default)]
    pub in_flight: Vec<InFlight>,
}

impl Record for Failures {
    const TREE: &'static str = "sign_in_failures";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some((self.last + HOUR).max(flights_end(&self.in_flight)))
    }
}

impl Window for Failures {
    type Rules = SignInSettings;

    /// The record as of `now`: failures older than an hour and stale reservations gone.
    fn at(mut self, now: u64) -> Failures {
        if self.last + HOUR <= now {
            self.recent.clear();
            self.in_a_row = 0;
        }
        self.recent.retain(|t| t + HOUR > now);
        live_flights(&mut self.in_flight, now);
        self
    }

    fn hold(&mut self, held: InFlight) {
        self.in_flight.push(held);
    }

    /// A failure is kept (at most the hourly cap of them), a success clears the
    /// failures, a released try leaves them as they were.
    fn settle(&mut self, held: InFlight, outcome: Outcome, rules: &SignInSettings, now: u64) {
        self.in_flight.retain(|r| r.id != held.id);
        match outcome {
            Outcome::Failed => {
                let cap = rules.failures_per_hour() as usize;
                self.recent.push(now);
                if self.recent.len() > cap {
                    let extra = self.recent.len() - cap;
                    self.recent.drain(..extra);
                }
                self.in_a_row = self.in_a_row.saturating_add(1);
                self.last = now;
            }
            Outcome::Succeeded => {
                self.recent.clear();
                self.in_a_row = 0;
            }
            Outcome::Released => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.recent.is_empty() && self.in_a_row == 0 && self.in_flight.is_empty()
    }
}

/// Failures from one IP in a one-hour window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IpFailures {
    pub window_start: u64,
    pub count: u32,
    /// Tries from this IP reserved and not settled yet.
    #[serde(default)]
    pub in_flight: Vec<InFlight>,
}

impl Record for IpFailures {
    const TREE: &'static str = "ip_failures";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some((self.window_start + HOUR).max(flights_end(&self.in_flight)))
    }
}

impl Window for IpFailures {
    type Rules = SignInSettings;

    /// The record as of `now`: a new window once the last one ended.
    fn at(mut self, now: u64) -> IpFailures {
        if self.window_start + HOUR <= now {
            self.window_start = now;
            self.count = 0;
        }
        live_flights(&mut self.in_flight, now);
        self
    }

    fn hold(&mut self, held: InFlight) {
        self.in_flight.push(held);
    }

    /// Only a failure counts against the IP; a success does not clear its count.
    fn settle(&mut self, held: InFlight, outcome: Outcome, _rules: &SignInSettings, _now: u64) {
        self.in_flight.retain(|r| r.id != held.id);
        if outcome == Outcome::Failed {
            self.count = self.count.saturating_add(1);
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0 && self.in_flight.is_empty()
    }
}

impl IpFailures {
    /// Failures and tries in flight.
    fn tries(&self) -> u32 {
        self.count.saturating_add(u32::try_from(self.in_flight.len()).unwrap_or(u32::MAX))
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

/// Whether a try can be asked for a CAPTCHA (R19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Captcha {
    /// The try carries an answer; when the ticket says one is due, the caller checks it.
    Answered,
    /// The try carries none: `captcha_required` when one is due, and nothing is reserved.
    Missing,
    /// Nobody is shown one here (a re-check inside a session, a second factor): only
    /// the waits and the caps apply.
    NotAsked,
}

/// A try admitted by `reserve`, to be given to `settle` once its secret is checked.
#[derive(Debug)]
#[must_use = "settle the ticket with the outcome of the check"]
pub struct Ticket {
    reservation: Reservation,
    /// A solved CAPTCHA must come with this try: the caller checks the answer.
    pub captcha: bool,
}

/// What a try may do given the subject's and the IP's records as of `now` (see
/// `Failures::at`), counting the tries in flight as failures to come: `rate_limited`
/// (with when to retry) or the CAPTCHA gate.
fn decide(rules: &SignInSettings, f: &Failures, ip: Option<&IpFailures>, now: u64) -> Result<Gate> {
    let ip_tries = ip.map_or(0, IpFailures::tries);
    if let Some(w) = ip
        && ip_tries >= rules.max_ip_failures_per_hour
    {
        let retry_after =
            if w.count >= rules.max_ip_failures_per_hour { (w.window_start + HOUR).saturating_sub(now) } else { 1 };
        return Err(Error::RateLimited { retry_after: retry_after.max(1) });
    }
    let flying = f.in_flight.len();
    let cap = rules.failures_per_hour() as usize;
    if f.recent.len() + flying >= cap {
        let retry_after = match f.recent.first() {
            Some(oldest) if f.recent.len() >= cap => (oldest + HOUR).saturating_sub(now),
            _ => 1,
        };
        return Err(Error::RateLimited { retry_after: retry_after.max(1) });
    }
    let tries = f.in_a_row.saturating_add(u32::try_from(flying).unwrap_or(u32::MAX));
    if let Some(wait) = backoff(tries, rules.backoff_after, rules.backoff_max) {
        let latest = f.in_flight.iter().map(|r| r.at).fold(f.last, u64::max);
        let until = latest + wait;
        if now < until {
            return Err(Error::RateLimited { retry_after: until - now });
        }
    }
    let captcha = (tries >= rules.captcha_after && (!f.recent.is_empty() || flying > 0))
        || ip_tries >= rules.captcha_after_ip_failures;
    Ok(Gate { captcha })
}

pub struct Attempts {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Attempts {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Attempts { store, clock }
    }

    fn limiter(&self) -> Limiter<'_, Failures, IpFailures> {
        Limiter::new(&self.store)
    }

    /// Whether a try would be let through now: `rate_limited` (with when to retry)
    /// if the subject or the IP must wait, else whether a CAPTCHA is needed. Changes
    /// nothing; to check a secret, `reserve` instead. An empty `ip` (a re-check
    /// inside a session) counts against the subject only.
    pub async fn check(&self, tenant: &str, rules: &SignInSettings, who: &Subject<'_>, ip: &str) -> Result<Gate> {
        let now = self.clock.now();
        let f = self.limiter().subject(tenant, &who.key(), now).await?;
        let w = match ip {
            "" => None,
            ip => Some(self.limiter().source(tenant, ip, now).await?),
        };
        decide(rules, &f, w.as_ref(), now)
    }

    /// Before a secret is checked: lets the try through the limits and holds its
    /// place, atomically, so tries in flight count as failures to come. Refuses with
    /// `rate_limited`, or `captcha_required` when a CAPTCHA is due and `captcha` is
    /// `Missing`; a refused try reserves nothing. The ticket goes to `settle`.
    pub async fn reserve(
        &self,
        tenant: &str,
        rules: &SignInSettings,
        who: &Subject<'_>,
        ip: &str,
        captcha: Captcha,
    ) -> Result<Ticket> {
        let now = self.clock.now();
        let ip = (!ip.is_empty()).then_some(ip);
        let (reservation, due) = self
            .limiter()
            .reserve(tenant, who.key(), ip, now, |f, w| {
                let gate = decide(rules, f, w, now)?;
                match captcha {
                    Captcha::NotAsked => Ok(false),
                    Captcha::Missing if gate.captcha => Err(Error::CaptchaRequired),
                    Captcha::Missing | Captcha::Answered => Ok(gate.captcha),
                }
            })
            .await?;
        Ok(Ticket { reservation, captcha: due })
    }

    /// After the check: ends the reservation with its outcome. A failure counts
    /// against the subject and the IP even if the reservation aged out meanwhile.
    /// The caller makes a failure durable (`Store::commit`) before answering.
    pub async fn settle(&self, tenant: &str, rules: &SignInSettings, ticket: Ticket, outcome: Outcome) -> Result<()> {
        self.limiter().settle(tenant, ticket.reservation, outcome, rules, self.clock.now()).await
    }

    /// Whether sign-ins from `ip` need a CAPTCHA whoever they are for.
    pub async fn ip_needs_captcha(&self, tenant: &str, rules: &SignInSettings, ip: &str) -> Result<bool> {
        let now = self.clock.now();
        let w = self.limiter().source(tenant, ip, now).await?;
        Ok(w.tries() >= rules.captcha_after_ip_failures)
    }
}

#[cfg(test)]
mod tests;
