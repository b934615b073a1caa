//! The storage boundary: typed, versioned records under per-tenant keys, with
//! transactions for uniqueness, expiry, and a group-committed flush so a write is
//! durable before a response acknowledges it. sled is the engine behind it.

mod commit;
#[allow(dead_code)] // not yet behind `Store`: the next step of issue 12 wires it in
pub(crate) mod postgres;
#[cfg(test)]
mod tests;
mod tx;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use tx::{Tx, TxResult, abort};

/// A stored record type: which tree it lives in and its schema version.
pub trait Record: Serialize + DeserializeOwned {
    const TREE: &'static str;
    const VERSION: u32;
    /// When the record stops existing (codes, grants, sessions).
    fn expires_at(&self) -> Option<u64> {
        None
    }
}

/// The tenant part of keys for records that belong to no tenant.
pub const GLOBAL: &str = "_";

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    r: T,
}

fn key(tenant: &str, id: &str) -> Vec<u8> {
    format!("{tenant}/{id}").into_bytes()
}

fn encode<R: Record>(record: &R) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&Envelope { v: R::VERSION, r: record })?)
}

fn decode<R: Record>(bytes: &[u8]) -> Result<R> {
    let env: Envelope<R> = serde_json::from_slice(bytes)?;
    if env.v != R::VERSION {
        return Err(Error::Storage(format!("{} record version {} is not {}", R::TREE, env.v, R::VERSION)));
    }
    Ok(env.r)
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    commit: Arc<commit::GroupCommit>,
}

impl Store {
    /// Opens (or creates) the store in `dir`. Must be called inside a tokio runtime.
    pub fn open(dir: &Path) -> Result<Store> {
        let db = sled::Config::new().path(dir).mode(sled::Mode::HighThroughput).open()?;
        let commit = commit::GroupCommit::start(db.clone());
        Ok(Store { db, commit })
    }

    fn tree<R: Record>(&self) -> Result<sled::Tree> {
        Ok(self.db.open_tree(R::TREE)?)
    }

    /// Reads a record, whether or not it has expired.
    pub async fn get<R: Record>(&self, tenant: &str, id: &str) -> Result<Option<R>> {
        match self.tree::<R>()?.get(key(tenant, id))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Reads a record that has not expired at `now`.
    pub async fn get_live<R: Record>(&self, tenant: &str, id: &str, now: u64) -> Result<Option<R>> {
        Ok(self.get::<R>(tenant, id).await?.filter(|r| r.expires_at().is_none_or(|e| e > now)))
    }

    /// Writes a record, replacing any previous one.
    pub async fn put<R: Record>(&self, tenant: &str, id: &str, record: &R) -> Result<()> {
        self.tree::<R>()?.insert(key(tenant, id), encode(record)?)?;
        Ok(())
    }

    /// Writes a record only if none exists under its key; false if one did.
    pub async fn insert_new<R: Record>(&self, tenant: &str, id: &str, record: &R) -> Result<bool> {
        let swapped =
            self.tree::<R>()?.compare_and_swap(key(tenant, id), None as Option<&[u8]>, Some(encode(record)?))?;
        Ok(swapped.is_ok())
    }

    /// Removes a record; returns it if it existed.
    pub async fn remove<R: Record>(&self, tenant: &str, id: &str) -> Result<Option<R>> {
        match self.tree::<R>()?.remove(key(tenant, id))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Atomically replaces a record with `f(old)`, retrying on concurrent change.
    /// `f` returns `None` to leave the record unchanged.
    pub async fn update<R: Record, T>(
        &self,
        tenant: &str,
        id: &str,
        mut f: impl FnMut(Option<R>) -> Result<(Option<R>, T)>,
    ) -> Result<T> {
        let tree = self.tree::<R>()?;
        let k = key(tenant, id);
        loop {
            let old_bytes = tree.get(&k)?;
            let old = old_bytes.as_deref().map(decode::<R>).transpose()?;
            let (new, out) = f(old)?;
            let Some(new) = new else { return Ok(out) };
            if tree.compare_and_swap(&k, old_bytes, Some(encode(&new)?))?.is_ok() {
                return Ok(out);
            }
        }
    }

    /// All records of a tenant whose id starts with `prefix`, in key order.
    pub async fn scan<R: Record>(&self, tenant: &str, prefix: &str) -> Result<Vec<(String, R)>> {
        let start = key(tenant, prefix);
        let skip = tenant.len() + 1;
        self.tree::<R>()?
            .scan_prefix(start)
            .map(|item| {
                let (k, v) = item?;
                let id = String::from_utf8_lossy(&k[skip..]).into_owned();
                Ok((id, decode::<R>(&v)?))
            })
            .collect()
    }

    /// Deletes the records of type `R` that expired before `now`; returns how many.
    pub async fn sweep_expired<R: Record>(&self, now: u64) -> Result<usize> {
        let tree = self.tree::<R>()?;
        let mut removed = 0;
        for item in tree.iter() {
            let (k, v) = item?;
            let expired = decode::<R>(&v).ok().and_then(|r| r.expires_at()).is_some_and(|e| e <= now);
            if expired && tree.compare_and_swap(&k, Some(v), None as Option<&[u8]>)?.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Runs `f` as one serializable transaction over the trees named by `trees`.
    /// `f` may be re-run on conflict, so it must not have side effects outside `tx`.
    /// `f` awaits only `Tx` operations: the sled engine runs it inside sled's own
    /// (synchronous) transaction and polls it once, so a closure that awaits anything
    /// else (a timer, a channel, another service) is refused with a storage error and
    /// writes nothing.
    pub async fn transaction<T>(&self, trees: &[&'static str], f: impl AsyncFn(&Tx<'_>) -> TxResult<T>) -> Result<T> {
        let opened = trees.iter().map(|t| self.db.open_tree(t)).collect::<Result<Vec<_>, _>>()?;
        tx::run(&opened, trees, f)
    }

    /// Makes every write done before this call durable. Concurrent callers share
    /// one flush (group commit).
    pub async fn commit(&self) -> Result<()> {
        self.commit.wait().await
    }

    /// How many times `commit` was called: tests compare the store work of two paths.
    #[cfg(test)]
    pub(crate) fn commits(&self) -> u64 {
        self.commit.requested()
    }
}
