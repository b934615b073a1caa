//! Consent remembered per account, client and scope.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{Record, Store, Tx, TxResult};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Consent {
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

impl Record for Consent {
    const TREE: &'static str = "consents";
    const VERSION: u32 = 1;
}

fn id(account: &str, client: &str) -> String {
    format!("{account}/{client}")
}

/// True if the account already granted every scope to the client.
pub async fn covers(store: &Store, tenant: &str, account: &str, client: &str, scopes: &[String]) -> Result<bool> {
    let granted = store.get::<Consent>(tenant, &id(account, client)).await?.unwrap_or_default();
    Ok(scopes.iter().all(|s| granted.scopes.contains(s)))
}

/// Records that the account granted `scopes` to the client (adding to earlier grants).
pub async fn grant(
    store: &Store,
    tenant: &str,
    account: &str,
    client: &str,
    scopes: &[String],
    now: u64,
) -> Result<()> {
    store
        .update::<Consent, _>(tenant, &id(account, client), |old| {
            let mut c = old.unwrap_or_default();
            for s in scopes {
                if !c.scopes.contains(s) {
                    c.scopes.push(s.clone());
                }
            }
            c.granted_at = now;
            Ok((Some(c), ()))
        })
        .await
}

/// [`grant`] inside a transaction over [`Consent`].
pub(crate) async fn grant_in(
    tx: &Tx<'_>,
    tenant: &str,
    account: &str,
    client: &str,
    scopes: &[String],
    now: u64,
) -> TxResult<()> {
    let k = id(account, client);
    let mut c = tx.get::<Consent>(tenant, &k).await?.unwrap_or_default();
    for s in scopes {
        if !c.scopes.contains(s) {
            c.scopes.push(s.clone());
        }
    }
    c.granted_at = now;
    tx.put(tenant, &k, &c).await
}
