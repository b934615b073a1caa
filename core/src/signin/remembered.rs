//! "Remember this device" (R20): after a second factor, a browser may skip it for
//! the tenant's number of days. The cookie is a random token; the store keeps its
//! digest with the account's security epoch, which a password change bumps, so a
//! new password forgets every remembered device at once. The records are
//! `token_record`s: keyed by the digest of the cookie.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::secret;
use crate::store::{Record, Store, Tx, TxResult};
use crate::token_record;

/// One remembered browser of an account, stored under the digest of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RememberedDevice {
    pub account_id: String,
    /// `Account::security_epoch` when remembered.
    pub epoch: u32,
    pub expires_at: u64,
}

impl Record for RememberedDevice {
    const TREE: &'static str = "remembered_devices";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// A device to remember for `days` (not stored yet; [`remember_in`] stores it).
pub fn remembered(account_id: &str, epoch: u32, days: u64, now: u64) -> RememberedDevice {
    RememberedDevice { account_id: account_id.to_string(), epoch, expires_at: now + days * 24 * 3600 }
}

/// Remembers `device` behind `token` (a fresh `secret::token()`, the cookie value)
/// inside a transaction over [`RememberedDevice`].
pub async fn remember_in(tx: &Tx<'_>, tenant: &str, token: &str, device: &RememberedDevice) -> TxResult<()> {
    tx.put(tenant, &secret::digest(token), device).await
}

/// Whether the cookie value remembers this device for the account at its current epoch.
pub async fn is_remembered(
    store: &Store,
    tenant: &str,
    token: &str,
    account_id: &str,
    epoch: u32,
    now: u64,
) -> Result<bool> {
    let device = token_record::get_live::<RememberedDevice>(store, tenant, token, now).await?;
    Ok(device.is_some_and(|d| secret::eq(&d.account_id, account_id) && d.epoch == epoch))
}
