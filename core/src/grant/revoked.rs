//! Revoked access tokens (by `jti`), kept until the token would have expired anyway.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{Record, Store, Tx, TxResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoked {
    pub expires_at: u64,
}

impl Record for Revoked {
    const TREE: &'static str = "revoked";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

pub async fn revoke(store: &Store, tenant: &str, jti: &str, expires_at: u64) -> Result<()> {
    store.put(tenant, jti, &Revoked { expires_at }).await
}

/// [`revoke`] inside a transaction over [`Revoked`].
pub(crate) async fn revoke_in(tx: &Tx<'_>, tenant: &str, jti: &str, expires_at: u64) -> TxResult<()> {
    tx.put(tenant, jti, &Revoked { expires_at }).await
}

pub async fn is_revoked(store: &Store, tenant: &str, jti: &str, now: u64) -> Result<bool> {
    Ok(store.get_live::<Revoked>(tenant, jti, now).await?.is_some())
}
