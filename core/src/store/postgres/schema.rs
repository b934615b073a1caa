//! The PostgreSQL engine's schema and its migrations, embedded and run at start.
//!
//! Each migration runs once, in order, in its own SERIALIZABLE transaction together
//! with the row that records it in `latchkey_schema`. Processes that start together
//! race on that row's primary key: one applies the migration, the others retry, see
//! it recorded and go on. No advisory locks (CockroachDB has none), only plain DDL both
//! PostgreSQL and CockroachDB accept: `CREATE TABLE IF NOT EXISTS`, partial indexes.

use sqlx::PgPool;

use super::retry;
use crate::error::Result;

/// The migrations, oldest first; a migration's number is its index + 1. Never edit
/// one that shipped: add the next.
const MIGRATIONS: &[&[&str]] = &[&[
    // One table for every record type ("tree"), keyed like the sled engine's keys
    // (`tenant/id`), the body as the same versioned JSON envelope, the record's expiry
    // for sweeps and live reads, and a version for compare-and-swap.
    "CREATE TABLE IF NOT EXISTS kv (
        tree TEXT NOT NULL,
        k BYTEA NOT NULL,
        body BYTEA NOT NULL,
        expires_at BIGINT NULL,
        ver BIGINT NOT NULL DEFAULT 1,
        PRIMARY KEY (tree, k)
    )",
    "CREATE INDEX IF NOT EXISTS kv_expiry ON kv (tree, expires_at) WHERE expires_at IS NOT NULL",
]];

const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS latchkey_schema (
    version BIGINT PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";

/// What a migration racing another process's can fail with before the retry finds
/// the winner's work: a unique violation on the catalog or on `latchkey_schema`, or
/// the table or its row type already there (42P07, 42710).
const RACING_DDL: &[&str] = &["23505", "42P07", "42710"];

/// The schema version this build expects.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database to [`latest`]; returns how many migrations this call applied.
pub(crate) async fn migrate(pool: &PgPool, now: u64) -> Result<usize> {
    retry::run_also(
        || async {
            sqlx::query(CREATE_SCHEMA_TABLE).execute(pool).await?;
            Ok(())
        },
        RACING_DDL,
    )
    .await?;
    let mut applied = 0;
    for (i, statements) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        let ran = retry::run_also(
            || async {
                let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await?;
                let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM latchkey_schema WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if done.is_some() {
                    return Ok(false);
                }
                for statement in *statements {
                    sqlx::query(*statement).execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO latchkey_schema (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(now as i64)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            },
            RACING_DDL,
        )
        .await?;
        applied += usize::from(ran);
    }
    Ok(applied)
}

/// The highest migration recorded in the database (0 when none).
pub(crate) async fn current(pool: &PgPool) -> Result<i64> {
    let row: (Option<i64>,) =
        retry::run(|| async { Ok(sqlx::query_as("SELECT MAX(version) FROM latchkey_schema").fetch_one(pool).await?) })
            .await?;
    Ok(row.0.unwrap_or(0))
}
