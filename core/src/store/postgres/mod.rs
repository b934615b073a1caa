//! The PostgreSQL engine (issue 12): the store's operations on one `kv` table, at the
//! level of bytes (the typed layer above encodes records exactly as for sled).
//!
//! - Keys are the sled engine's keys (`tenant/id`) under a tree name; bodies are the
//!   same versioned JSON envelope; `expires_at` is the record's expiry.
//! - Every statement outside a transaction commits on its own, and PostgreSQL's
//!   `synchronous_commit` (on by default, and required) makes a commit durable
//!   before it returns: nothing acknowledged is lost, so `commit` has nothing to do.
//! - `update` is compare-and-swap on `ver`, retried when another writer got there
//!   first. Transactions run SERIALIZABLE (closures read "absent" and then write,
//!   which only serializable isolation makes safe) and are retried on 40001/40P01.
//! - SQL stays within what CockroachDB accepts: no advisory locks, no LISTEN needed
//!   for correctness, `ON CONFLICT`, `RETURNING`, partial indexes.
//!
//! Not yet wired behind [`crate::store::Store`]: that needs the async boundary.

mod retry;
mod schema;
#[cfg(test)]
pub(crate) mod test_cluster;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

use sqlx::postgres::{PgExecutor, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

pub(crate) use retry::Failure;
use retry::storage;

use crate::error::Result;

/// One stored row as the typed layer sees it.
pub(crate) type Row = (Vec<u8>, Vec<u8>);

/// A connection pool on one database whose schema is current.
#[derive(Clone)]
pub(crate) struct Postgres {
    pool: PgPool,
}

/// The upper bound of the keys that start with `prefix`: the prefix with its last
/// byte below 0xff incremented and the rest dropped; `None` when every key is above.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn to_db(at: Option<u64>) -> Option<i64> {
    at.map(|t| i64::try_from(t).unwrap_or(i64::MAX))
}

impl Postgres {
    /// Connects with at most `pool_size` connections and runs the migrations.
    pub(crate) async fn connect(url: &str, pool_size: u32, now: u64) -> Result<Postgres> {
        let pool = PgPoolOptions::new().max_connections(pool_size.max(1)).connect(url).await.map_err(storage)?;
        let synchronous: (String,) =
            sqlx::query_as("SHOW synchronous_commit").fetch_one(&pool).await.map_err(storage)?;
        if synchronous.0 == "off" {
            return Err(crate::Error::Storage(
                "postgres: synchronous_commit is off, so an acknowledged write could be lost".into(),
            ));
        }
        schema::migrate(&pool, now).await?;
        Ok(Postgres { pool })
    }

    /// The schema version of the database (the latest this build knows, once connected).
    pub(crate) async fn schema_version(&self) -> Result<i64> {
        schema::current(&self.pool).await
    }

    /// The body under `key`, whatever its expiry.
    pub(crate) async fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_with(&self.pool, tree, key).await.map_err(storage)
    }

    /// The body under `key` unless it expired at or before `now`.
    pub(crate) async fn get_live(&self, tree: &str, key: &[u8], now: u64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT body FROM kv WHERE tree = $1 AND k = $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(tree)
        .bind(key)
        .bind(to_db(Some(now)))
        .fetch_optional(&self.pool)
        .await
        .map_err(storage)?;
        Ok(row.map(|r| r.0))
    }

    /// Writes `body` under `key`, replacing what was there.
    pub(crate) async fn put(&self, tree: &str, key: &[u8], body: &[u8], expires_at: Option<u64>) -> Result<()> {
        put_with(&self.pool, tree, key, body, expires_at).await.map_err(storage)
    }

    /// Writes `body` under `key` only if nothing is there; whether it wrote.
    pub(crate) async fn insert_new(
        &self,
        tree: &str,
        key: &[u8],
        body: &[u8],
        expires_at: Option<u64>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO kv (tree, k, body, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tree, k) DO NOTHING",
        )
        .bind(tree)
        .bind(key)
        .bind(body)
        .bind(to_db(expires_at))
        .execute(&self.pool)
        .await
        .map_err(storage)?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes `key`; the body it had.
    pub(crate) async fn remove(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        remove_with(&self.pool, tree, key).await.map_err(storage)
    }

    /// Replaces the body under `key` with `f(old)` by compare-and-swap on its version,
    /// running `f` again when another writer changed it in between. `f` gives `None`
    /// to leave the row as it is, or the new body and its expiry.
    pub(crate) async fn update<T>(
        &self,
        tree: &str,
        key: &[u8],
        mut f: impl FnMut(Option<&[u8]>) -> Result<(Option<(Vec<u8>, Option<u64>)>, T)>,
    ) -> Result<T> {
        loop {
            let old: Option<(Vec<u8>, i64)> = sqlx::query_as("SELECT body, ver FROM kv WHERE tree = $1 AND k = $2")
                .bind(tree)
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(storage)?;
            let (new, out) = f(old.as_ref().map(|(b, _)| b.as_slice()))?;
            let Some((body, expires_at)) = new else { return Ok(out) };
            let swapped = match old {
                None => self.insert_new(tree, key, &body, expires_at).await?,
                Some((_, ver)) => sqlx::query(
                    "UPDATE kv SET body = $3, expires_at = $4, ver = ver + 1 WHERE tree = $1 AND k = $2 AND ver = $5",
                )
                .bind(tree)
                .bind(key)
                .bind(&body)
                .bind(to_db(expires_at))
                .bind(ver)
                .execute(&self.pool)
                .await
                .map_err(storage)?
                .rows_affected()
                    == 1,
            };
            if swapped {
                return Ok(out);
            }
        }
    }

    /// At most `limit` rows whose key starts with `prefix` and sorts after `after`
    /// (the last key of the previous page; `None` for the first), in key order.
    pub(crate) async fn scan_page(
        &self,
        tree: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: u32,
    ) -> Result<Vec<Row>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT k, body FROM kv WHERE tree = $1 AND k >= $2
               AND ($3::BYTEA IS NULL OR k < $3) AND ($4::BYTEA IS NULL OR k > $4)
             ORDER BY k LIMIT $5",
        )
        .bind(tree)
        .bind(prefix)
        .bind(prefix_end(prefix))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(storage)?;
        Ok(rows)
    }

    /// Deletes the rows of `tree` that expired at or before `now`; how many.
    pub(crate) async fn sweep_expired(&self, tree: &str, now: u64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM kv WHERE tree = $1 AND expires_at IS NOT NULL AND expires_at <= $2")
            .bind(tree)
            .bind(to_db(Some(now)))
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(done.rows_affected())
    }

    /// Runs `f` in one SERIALIZABLE transaction, committed before this returns. A
    /// serialization failure or deadlock anywhere (a statement or the commit) runs the
    /// whole of `f` again, so `f` must do nothing outside `tx`. An `Abort` from `f`
    /// rolls back and is the answer. `f` returns a boxed future (`|tx| Box::pin(async
    /// move { .. })`) so the caller's future stays `Send`, which async closures over a
    /// borrowed argument cannot promise yet.
    pub(crate) async fn transaction<T: Send>(
        &self,
        f: impl for<'a> Fn(&'a PgTx) -> TxFuture<'a, T> + Send + Sync,
    ) -> Result<T> {
        retry::run(|| async {
            let tx = PgTx { inner: Mutex::new(self.pool.begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await?) };
            let out = f(&tx).await?;
            tx.inner.into_inner().commit().await?;
            Ok(out)
        })
        .await
    }
}

/// What a transaction closure returns: its work on the transaction, as a future.
pub(crate) type TxFuture<'a, T> = Pin<Box<dyn Future<Output = std::result::Result<T, Failure>> + Send + 'a>>;

/// One open transaction: the reads and writes of [`Postgres::transaction`]'s closure.
pub(crate) struct PgTx {
    inner: Mutex<sqlx::Transaction<'static, sqlx::Postgres>>,
}

impl PgTx {
    /// The body under `key`, as this transaction sees it.
    pub(crate) async fn get(&self, tree: &str, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, Failure> {
        Ok(get_with(&mut **self.inner.lock().await, tree, key).await?)
    }

    /// Writes `body` under `key` in this transaction.
    pub(crate) async fn put(
        &self,
        tree: &str,
        key: &[u8],
        body: &[u8],
        expires_at: Option<u64>,
    ) -> std::result::Result<(), Failure> {
        Ok(put_with(&mut **self.inner.lock().await, tree, key, body, expires_at).await?)
    }

    /// Removes `key` in this transaction.
    pub(crate) async fn remove(&self, tree: &str, key: &[u8]) -> std::result::Result<(), Failure> {
        remove_with(&mut **self.inner.lock().await, tree, key).await?;
        Ok(())
    }
}

// The statements both the pool (each its own commit) and an open transaction run.

async fn get_with<'e>(db: impl PgExecutor<'e>, tree: &str, key: &[u8]) -> sqlx::Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT body FROM kv WHERE tree = $1 AND k = $2")
        .bind(tree)
        .bind(key)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.0))
}

async fn put_with<'e>(
    db: impl PgExecutor<'e>,
    tree: &str,
    key: &[u8],
    body: &[u8],
    expires_at: Option<u64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO kv (tree, k, body, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tree, k) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at, ver = kv.ver + 1",
    )
    .bind(tree)
    .bind(key)
    .bind(body)
    .bind(to_db(expires_at))
    .execute(db)
    .await?;
    Ok(())
}

async fn remove_with<'e>(db: impl PgExecutor<'e>, tree: &str, key: &[u8]) -> sqlx::Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("DELETE FROM kv WHERE tree = $1 AND k = $2 RETURNING body")
        .bind(tree)
        .bind(key)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.0))
}
