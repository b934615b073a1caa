//! Retrying what PostgreSQL (or CockroachDB) refuses only because of a concurrent
//! transaction: serialization failures (40001) and deadlocks (40P01). A
//! SERIALIZABLE transaction can be refused at any statement or at COMMIT; the whole
//! transaction is run again, after a jittered, growing pause, up to a cap.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::{Error, Result};

/// How many times one operation is tried before it gives up as `Storage`.
pub(crate) const ATTEMPTS: u32 = 12;
const FIRST_PAUSE_MS: u64 = 2;
const MAX_PAUSE_MS: u64 = 200;

/// What one try of an operation came to.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The operation itself refused (a domain error): final, never retried.
    Abort(Error),
    /// The database answered an error; retried when it is a serialization failure.
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Abort(e)
    }
}

/// Whether `e` means "a concurrent transaction won; try again".
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "40001" || c == "40P01")
}

/// The domain error for a database error that is not retried.
pub(crate) fn storage(e: sqlx::Error) -> Error {
    Error::Storage(format!("postgres: {e}"))
}

/// The pause before try number `attempt` (1-based retries): doubling from 2 ms, at most
/// 200 ms, with full jitter so colliding processes spread out.
fn pause(attempt: u32) -> Duration {
    let ceiling = (FIRST_PAUSE_MS << attempt.min(16)).min(MAX_PAUSE_MS);
    Duration::from_millis(rand::thread_rng().gen_range(1..=ceiling))
}

/// Runs `op` until it succeeds, aborts, fails with a non-retryable error, or has been
/// tried [`ATTEMPTS`] times.
pub(crate) async fn run<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failure>>,
{
    run_also(op, &[]).await
}

/// [`run`], also retrying the SQLSTATEs in `also`: schema changes racing between
/// processes (`CREATE TABLE IF NOT EXISTS` run at once by two of them) can fail with
/// a unique violation (23505) on the catalog; the retry then finds the table there.
pub(crate) async fn run_also<T, F, Fut>(mut op: F, also: &[&str]) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failure>>,
{
    let listed = |e: &sqlx::Error| e.as_database_error().and_then(|d| d.code()).is_some_and(|c| also.contains(&&*c));
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(Failure::Abort(e)) => return Err(e),
            Err(Failure::Db(e)) if (is_retryable(&e) || listed(&e)) && attempt + 1 < ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(pause(attempt)).await;
            }
            Err(Failure::Db(e)) => return Err(storage(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_pauses_grow_to_a_cap_and_are_never_zero() {
        for attempt in 1..40 {
            let p = pause(attempt).as_millis() as u64;
            assert!((1..=MAX_PAUSE_MS).contains(&p), "{attempt}: {p}");
            assert!(p <= FIRST_PAUSE_MS << attempt.min(16), "{attempt}: {p}");
        }
    }
}
