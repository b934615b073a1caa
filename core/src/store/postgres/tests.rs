//! The PostgreSQL engine against a real server (see `test_cluster`): the operations,
//! and the guarantees the store relies on under real parallel connections.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::schema;
use super::test_cluster::database;
use super::{Failure, Postgres, prefix_end};
use crate::Error;

async fn engine() -> Postgres {
    Postgres::connect(&database().await, 16, 1_000).await.unwrap()
}

#[test]
fn s_prefix_end_bounds_exactly_the_keys_with_the_prefix() {
    assert_eq!(prefix_end(b"t/a"), Some(b"t/b".to_vec()));
    assert_eq!(prefix_end(b"t/\xff"), Some(b"t0".to_vec()));
    assert_eq!(prefix_end(b"\xff\xff"), None);
    assert_eq!(prefix_end(b""), None);
}

#[tokio::test]
async fn s_put_get_remove_and_live_reads() {
    let pg = engine().await;
    assert_eq!(pg.get("codes", b"t/1").await.unwrap(), None);
    pg.put("codes", b"t/1", b"one", Some(100)).await.unwrap();
    assert_eq!(pg.get("codes", b"t/1").await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(pg.get_live("codes", b"t/1", 99).await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(pg.get_live("codes", b"t/1", 100).await.unwrap(), None, "expired at 100");
    assert_eq!(pg.get("sessions", b"t/1").await.unwrap(), None, "trees are apart");
    pg.put("codes", b"t/1", b"two", None).await.unwrap();
    assert_eq!(pg.get_live("codes", b"t/1", u64::MAX).await.unwrap().as_deref(), Some(&b"two"[..]));
    assert_eq!(pg.remove("codes", b"t/1").await.unwrap().as_deref(), Some(&b"two"[..]));
    assert_eq!(pg.remove("codes", b"t/1").await.unwrap(), None);
}

#[tokio::test]
async fn s_insert_new_is_unique_under_parallel_inserts() {
    let pg = engine().await;
    let tries = (0..16).map(|i| {
        let pg = pg.clone();
        tokio::spawn(async move { pg.insert_new("accounts", b"t/mobile:+8613800000000", &[i], None).await.unwrap() })
    });
    let won: Vec<bool> = futures_all(tries).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

#[tokio::test]
async fn s_update_is_compare_and_swap_under_parallel_changes() {
    let pg = engine().await;
    let bumps = (0..24).map(|_| {
        let pg = pg.clone();
        tokio::spawn(async move {
            pg.update("limits", b"t/ip", |old| {
                let n = old.map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
                Ok((Some(((n + 1).to_be_bytes().to_vec(), None)), n))
            })
            .await
            .unwrap()
        })
    });
    let mut seen: Vec<u32> = futures_all(bumps).await;
    seen.sort_unstable();
    assert_eq!(seen, (0..24).collect::<Vec<_>>(), "each change saw the one before it");
    let end = pg.get("limits", b"t/ip").await.unwrap().unwrap();
    assert_eq!(u32::from_be_bytes(end.try_into().unwrap()), 24);
    let kept = pg.update("limits", b"t/ip", |_| Ok((None, "unchanged"))).await.unwrap();
    assert_eq!(kept, "unchanged");
}

#[tokio::test]
async fn s_paged_scan_returns_every_key_of_the_prefix_once_in_order() {
    let pg = engine().await;
    for i in 0..25u8 {
        pg.put("accounts", format!("t/{i:02}").as_bytes(), &[i], None).await.unwrap();
    }
    pg.put("accounts", b"s/00", b"other tenant", None).await.unwrap();
    pg.put("accounts", b"u/00", b"other tenant", None).await.unwrap();
    pg.put("clients", b"t/00", b"other tree", None).await.unwrap();
    let mut keys = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = pg.scan_page("accounts", b"t/", after.as_deref(), 7).await.unwrap();
        assert!(page.len() <= 7);
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        keys.extend(page.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()));
    }
    let want: Vec<String> = (0..25).map(|i| format!("t/{i:02}")).collect();
    assert_eq!(keys, want);
}

#[tokio::test]
async fn s_sweep_removes_only_what_expired() {
    let pg = engine().await;
    pg.put("codes", b"t/old", b"x", Some(10)).await.unwrap();
    pg.put("codes", b"t/now", b"x", Some(20)).await.unwrap();
    pg.put("codes", b"t/new", b"x", Some(30)).await.unwrap();
    pg.put("codes", b"t/forever", b"x", None).await.unwrap();
    pg.put("sessions", b"t/old", b"x", Some(10)).await.unwrap();
    assert_eq!(pg.sweep_expired("codes", 20).await.unwrap(), 2);
    let left = pg.scan_page("codes", b"t/", None, 10).await.unwrap();
    let left: Vec<&[u8]> = left.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(left, vec![&b"t/forever"[..], &b"t/new"[..]]);
    assert!(pg.get("sessions", b"t/old").await.unwrap().is_some(), "only the swept tree");
}

/// The pattern the services use, "read absent, then write": under parallel
/// transactions exactly one writes. Without SERIALIZABLE (and the retry that goes
/// with it) several would see the key absent and each write its own record.
#[tokio::test]
async fn s_transactions_that_read_absent_then_write_serialize() {
    let pg = engine().await;
    let runs = (0..12u8).map(|i| {
        let pg = pg.clone();
        tokio::spawn(async move {
            pg.transaction(|tx| {
                Box::pin(async move {
                    if tx.get("identifiers", b"t/email:ada@example.com").await?.is_some() {
                        return Err(Failure::Abort(Error::IdentifierTaken(crate::IdentifierKind::Email)));
                    }
                    tx.put("identifiers", b"t/email:ada@example.com", &[i], None).await?;
                    tx.put("accounts", format!("t/{i}").as_bytes(), &[i], None).await?;
                    Ok(i)
                })
            })
            .await
        })
    });
    let results: Vec<crate::Result<u8>> = futures_all(runs).await;
    let won: Vec<u8> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| r.is_ok() || matches!(r, Err(Error::IdentifierTaken(_)))),
        "the others are refused as taken, not failed: {results:?}"
    );
    let accounts = pg.scan_page("accounts", b"t/", None, 100).await.unwrap();
    assert_eq!(accounts.len(), 1, "one account record, the winner's");
    assert_eq!(accounts[0].1, vec![won[0]]);
}

#[tokio::test]
async fn s_an_aborted_transaction_writes_nothing() {
    let pg = engine().await;
    let out: crate::Result<()> = pg
        .transaction(|tx| {
            Box::pin(async move {
                tx.put("sessions", b"t/s1", b"x", None).await?;
                tx.remove("codes", b"t/c1").await?;
                Err(Failure::Abort(Error::InvalidGrant))
            })
        })
        .await;
    assert!(matches!(out, Err(Error::InvalidGrant)), "{out:?}");
    assert_eq!(pg.get("sessions", b"t/s1").await.unwrap(), None);
}

#[tokio::test]
async fn s_migrations_run_once_when_processes_start_together() {
    let url = Arc::new(database().await);
    let starts = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { Postgres::connect(&url, 2, 5).await.map(|_| ()) })
    });
    let started: Vec<crate::Result<()>> = futures_all(starts).await;
    assert!(started.iter().all(|s| s.is_ok()), "{started:?}");
    let pg = Postgres::connect(&url, 2, 6).await.unwrap();
    assert_eq!(pg.schema_version().await.unwrap(), schema::latest());
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM latchkey_schema").fetch_one(&pg.pool).await.unwrap();
    assert_eq!(rows.0, schema::latest(), "each migration recorded once");
}

/// A database that would acknowledge writes before they are durable is refused.
#[tokio::test]
async fn s_a_database_without_synchronous_commit_is_refused() {
    let url = database().await;
    let name = url.rsplit_once('/').unwrap().1.to_string();
    let pg = Postgres::connect(&url, 1, 1).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} SET synchronous_commit = off")))
        .execute(&pg.pool)
        .await
        .unwrap();
    drop(pg);
    let refused = Postgres::connect(&url, 1, 1).await.err().unwrap();
    assert!(matches!(&refused, Error::Storage(m) if m.contains("synchronous_commit")), "{refused:?}");
}

async fn futures_all<T: Send + 'static>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await.unwrap());
    }
    out
}
