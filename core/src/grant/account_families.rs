//! The token families of each account, and revoking all of them at once (issue 10
//! item 3; RFC 9700 4.14.2): on a password change or reset, a recycled number taken
//! over (R9), and later a freeze (R32). An index keyed `account_id/family_id`,
//! written where a family opens and expiring with it, so nothing scans every family.

use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditEvent};
use crate::error::Result;
use crate::grant::family;
use crate::store::{Record, Store, Tx, TxResult};

/// One family of an account, under `{account_id}/{family_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountFamily {
    pub expires_at: u64,
}

impl Record for AccountFamily {
    const TREE: &'static str = "account_families";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

fn key(account_id: &str, family_id: &str) -> String {
    format!("{account_id}/{family_id}")
}

/// Notes that `family_id` belongs to `account_id` until `expires_at` (or later, if
/// already noted with a later expiry).
pub(crate) async fn note(
    store: &Store,
    tenant: &str,
    account_id: &str,
    family_id: &str,
    expires_at: u64,
) -> Result<()> {
    store
        .update::<AccountFamily, _>(tenant, &key(account_id, family_id), |old| {
            let expires_at = old.map_or(expires_at, |o| o.expires_at.max(expires_at));
            Ok((Some(AccountFamily { expires_at }), ()))
        })
        .await
}

/// [`note`] inside a transaction over [`AccountFamily`].
pub(crate) async fn note_in(
    tx: &Tx<'_>,
    tenant: &str,
    account_id: &str,
    family_id: &str,
    expires_at: u64,
) -> TxResult<()> {
    let k = key(account_id, family_id);
    let expires_at = tx.get::<AccountFamily>(tenant, &k).await?.map_or(expires_at, |o| o.expires_at.max(expires_at));
    tx.put(tenant, &k, &AccountFamily { expires_at }).await
}

/// Why every token of an account is revoked, as the audit records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    PasswordChanged,
    PasswordReset,
    /// The account's mobile was taken over by a new registrant (R9).
    MobileTakenOver,
    /// The account was frozen (R32).
    Frozen,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::PasswordChanged => "password_changed",
            Why::PasswordReset => "password_reset",
            Why::MobileTakenOver => "mobile_taken_over",
            Why::Frozen => "frozen",
        }
    }
}

/// Revokes every refresh family of the account and every access token issued in
/// them (introspection, userinfo and the account API refuse them from now on),
/// audits it, and makes it durable before returning. Returns how many families were
/// revoked. A family opened while this runs is either seen here or, if opened after
/// the scan, belongs to a sign-in that came after the change.
pub async fn revoke_all_for_account(
    store: &Store,
    tenant: &str,
    account_id: &str,
    why: Why,
    now: u64,
) -> Result<usize> {
    let prefix = format!("{account_id}/");
    let mut revoked = 0;
    for (k, _) in store.scan::<AccountFamily>(tenant, &prefix).await? {
        let family_id = &k[prefix.len()..];
        if family::is_live(store, tenant, family_id, now).await? {
            family::revoke(store, tenant, family_id).await?;
            revoked += 1;
        }
        store.remove::<AccountFamily>(tenant, &k).await?;
    }
    let event = AuditEvent {
        at: now,
        actor: account_id.to_string(),
        action: "tokens_revoked".into(),
        subject: Some(account_id.to_string()),
        ip: None,
        client: None,
        detail: serde_json::json!({ "reason": why.as_str(), "families": revoked }),
    };
    audit::record(store, tenant, &event).await?;
    store.commit().await?;
    Ok(revoked)
}
