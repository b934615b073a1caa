//! Records keyed by the digest of a cookie token (admin sessions, remembered
//! devices, pending sign-ins...). `issue` draws a fresh random token (32 bytes,
//! base64url: `TOKEN_LEN` characters) and stores the record under its digest; the
//! token itself goes to the browser only, so a copy of the store opens nothing.
//! Lookups take the token the browser sent: a value of the wrong length is refused
//! before anything is hashed or read, and expired records are not returned.

use crate::error::Result;
use crate::secret;
use crate::store::{Record, Store};

/// Characters in a token from `issue` (`secret::token`: 32 bytes, base64url).
pub const TOKEN_LEN: usize = 43;

/// The store key of the record behind `token`, or `None` if `token` cannot be
/// one `issue` handed out.
pub fn key(token: &str) -> Option<String> {
    (token.len() == TOKEN_LEN).then(|| secret::digest(token))
}

/// Stores `record` under the digest of a fresh token; returns the token (the
/// cookie value). The caller commits.
pub async fn issue<R: Record>(store: &Store, tenant: &str, record: &R) -> Result<String> {
    let token = secret::token();
    store.put(tenant, &secret::digest(&token), record).await?;
    Ok(token)
}

/// The live (not expired at `now`) record behind `token`, if any.
pub async fn get_live<R: Record>(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<R>> {
    match key(token) {
        Some(k) => store.get_live(tenant, &k, now).await,
        None => Ok(None),
    }
}

/// Replaces the record behind `token` (a token of the wrong length stores nothing).
pub async fn put<R: Record>(store: &Store, tenant: &str, token: &str, record: &R) -> Result<()> {
    match key(token) {
        Some(k) => store.put(tenant, &k, record).await,
        None => Ok(()),
    }
}

/// Reads and rewrites the record behind `token` atomically, as `Store::update`
/// does; `f` sees `None` for a token of the wrong length, and what it returns
/// for one is not stored.
pub async fn update<R: Record, T>(
    store: &Store,
    tenant: &str,
    token: &str,
    mut f: impl FnMut(Option<R>) -> Result<(Option<R>, T)>,
) -> Result<T> {
    match key(token) {
        Some(k) => store.update::<R, T>(tenant, &k, f).await,
        None => f(None).map(|(_, out)| out),
    }
}

/// Removes the record behind `token`; returns it if there was one.
pub async fn remove<R: Record>(store: &Store, tenant: &str, token: &str) -> Result<Option<R>> {
    match key(token) {
        Some(k) => store.remove(tenant, &k).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
