//! One limiter for guessable secrets (R19 sign-in failures, P8 device user codes).
//! A try is reserved before the slow work (a password hash, a code lookup) and
//! settled after it. Each try counts against two stored windows: its subject's (an
//! account, an unknown identifier) and, when known, its source IP's. `reserve` reads
//! both windows as of now, asks the caller's rule whether the try may go, and holds
//! its place in both, all in one store transaction: so parallel tries, in one process
//! or several sharing the store, meet the limits as tries one after another would.
//! `settle` ends the try with its outcome in one transaction too, and removes a
//! window left with nothing to keep.
//!
//! What a window holds and how it ages is the caller's (`Window`); the limiter owns
//! the reserve/settle protocol, the keys of IP windows and the backoff formula.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{Record, Store, Tx, TxResult, abort};

/// Seconds in the hourly windows of the limits.
pub const HOUR: u64 = 3600;

/// One reserved try, as a window holds it until the try is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// Random id of the try, to find it again when it is settled.
    pub id: u64,
    /// When it was reserved.
    pub at: u64,
}

/// How a reserved try ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The secret was wrong: a failure of the subject and of the IP.
    Failed,
    /// The secret was right: the subject's failures are cleared (not the IP's).
    Succeeded,
    /// The secret was not judged (a refused CAPTCHA, a server error): nothing counts.
    Released,
}

/// The stored tries of one key (a subject or an IP), as one limit sees them.
pub trait Window: Record + Default {
    /// The rules `settle` needs (caps that bound what a window keeps).
    type Rules;
    /// The window as of `now`: tries that aged out are gone.
    fn at(self, now: u64) -> Self;
    /// Holds the place of a try admitted by `reserve`.
    fn hold(&mut self, held: InFlight);
    /// Ends a held try with its outcome; `now` is when it is settled.
    fn settle(&mut self, held: InFlight, outcome: Outcome, rules: &Self::Rules, now: u64);
    /// Nothing left to keep: the record is removed rather than stored.
    fn is_empty(&self) -> bool;
}

/// A try admitted by `Limiter::reserve`, to be given to `Limiter::settle`.
#[derive(Debug)]
#[must_use = "settle the reservation with the outcome of the check"]
pub struct Reservation {
    subject: String,
    source: Option<String>,
    held: InFlight,
}

impl Reservation {
    /// The reservation a caller made for `subject` and `source` (an IP) with `held`;
    /// for callers whose windows find a try by when it was reserved rather than by
    /// a kept reservation (the device user-code page).
    pub(crate) fn rebuilt(subject: String, source: Option<&str>, held: InFlight) -> Reservation {
        Reservation { subject, source: source.map(ip_key), held }
    }

    /// The store key of the subject's window.
    pub fn subject_key(&self) -> &str {
        &self.subject
    }

    /// The store key of the source IP's window, if the try had one.
    pub fn source_key(&self) -> Option<&str> {
        self.source.as_deref()
    }
}

/// The store key of an IP's window (at most 64 characters of the IP are kept).
pub fn ip_key(ip: &str) -> String {
    format!("ip/{}", ip.chars().take(64).collect::<String>())
}

/// Seconds the next try waits after `in_a_row` failures: none up to `after`, then
/// 1, 2, 4, ... seconds, at most `max` (at least 1).
pub fn backoff(in_a_row: u32, after: u32, max: u64) -> Option<u64> {
    let over = in_a_row.checked_sub(after)?;
    Some(2u64.saturating_pow(over).min(max.max(1)))
}

/// Reserves and settles tries against subject windows `S` and source windows `P`
/// (the two may be one type, kept in one tree under distinct keys).
pub struct Limiter<'a, S, P> {
    store: &'a Store,
    windows: PhantomData<fn() -> (S, P)>,
}

impl<'a, S, P> Limiter<'a, S, P>
where
    S: Window,
    P: Window<Rules = S::Rules>,
{
    /// A limiter over the windows kept in `store`.
    pub fn new(store: &'a Store) -> Self {
        Limiter { store, windows: PhantomData }
    }

    /// The window of `subject` as of `now` (unchanged in the store).
    pub async fn subject(&self, tenant: &str, subject: &str, now: u64) -> Result<S> {
        Ok(self.store.get::<S>(tenant, subject).await?.unwrap_or_default().at(now))
    }

    /// The window of the IP `source` as of `now` (unchanged in the store).
    pub async fn source(&self, tenant: &str, source: &str, now: u64) -> Result<P> {
        Ok(self.store.get::<P>(tenant, &ip_key(source)).await?.unwrap_or_default().at(now))
    }

    /// Before the slow work: in one transaction, reads the windows of `subject` and
    /// of `source` (if any) as of `now`, asks `admit` whether the try may go (its
    /// error refuses the try, which then holds nothing) and holds the try's place
    /// in both. `admit` may run more than once (on a conflict), so it must be pure.
    pub async fn reserve<T>(
        &self,
        tenant: &str,
        subject: String,
        source: Option<&str>,
        now: u64,
        admit: impl Fn(&S, Option<&P>) -> Result<T>,
    ) -> Result<(Reservation, T)> {
        let source = source.map(ip_key);
        let held = InFlight { id: rand::random(), at: now };
        let admitted = self
            .store
            .transaction(&Self::trees(), async |tx| {
                let mut s = tx.get::<S>(tenant, &subject).await?.unwrap_or_default().at(now);
                let mut p = match &source {
                    Some(k) => Some(tx.get::<P>(tenant, k).await?.unwrap_or_default().at(now)),
                    None => None,
                };
                let admitted = match admit(&s, p.as_ref()) {
                    Ok(v) => v,
                    Err(e) => return abort(e),
                };
                s.hold(held);
                tx.put(tenant, &subject, &s).await?;
                if let (Some(k), Some(p)) = (&source, p.as_mut()) {
                    p.hold(held);
                    tx.put(tenant, k, p).await?;
                }
                Ok(admitted)
            })
            .await?;
        Ok((Reservation { subject, source, held }, admitted))
    }

    /// After the slow work: ends the reservation with its outcome in both windows,
    /// in one transaction, even if the reservation aged out meanwhile. The caller
    /// makes the change durable (`Store::commit`) before answering.
    pub async fn settle(
        &self,
        tenant: &str,
        reservation: Reservation,
        outcome: Outcome,
        rules: &S::Rules,
        now: u64,
    ) -> Result<()> {
        let Reservation { subject, source, held } = reservation;
        self.store
            .transaction(&Self::trees(), async |tx| {
                settle_one::<S>(tx, tenant, &subject, held, outcome, rules, now).await?;
                match &source {
                    Some(k) => settle_one::<P>(tx, tenant, k, held, outcome, rules, now).await,
                    None => Ok(()),
                }
            })
            .await
    }

    fn trees() -> Vec<&'static str> {
        let mut trees = vec![S::TREE, P::TREE];
        trees.dedup();
        trees
    }
}

async fn settle_one<W: Window>(
    tx: &Tx<'_>,
    tenant: &str,
    key: &str,
    held: InFlight,
    outcome: Outcome,
    rules: &W::Rules,
    now: u64,
) -> TxResult<()> {
    let mut w = tx.get::<W>(tenant, key).await?.unwrap_or_default().at(now);
    w.settle(held, outcome, rules, now);
    if w.is_empty() { tx.remove::<W>(tenant, key).await } else { tx.put(tenant, key, &w).await }
}

#[cfg(test)]
mod tests;
