//! The indexes behind identifiers: the login index (value -> the one account it signs
//! in) and the binding index (value -> every account it is bound to, any role).

use serde::{Deserialize, Serialize};

use crate::account::{Binding, Kind, Roles};
use crate::error::{Error, Result};
use crate::identifier::Identifier;
use crate::store::{Record, Store, Tx, TxResult, abort};

/// Login index entry: identifier -> account id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentifierIndex {
    pub account_id: String,
}

impl Record for IdentifierIndex {
    const TREE: &'static str = "identifiers";
    const VERSION: u32 = 1;
}

/// Binding index entry under `{kind}:{value}/{account_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BindingIndex {
    pub roles: Roles,
}

impl Record for BindingIndex {
    const TREE: &'static str = "bindings";
    const VERSION: u32 = 1;
}

/// How many accounts a value is bound to, kept exact inside transactions (R8).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BindingCount {
    pub n: usize,
}

impl Record for BindingCount {
    const TREE: &'static str = "binding_counts";
    const VERSION: u32 = 1;
}

fn binding_prefix(kind: Kind, value: &str) -> String {
    format!("{}:{value}/", kind.as_str())
}

/// Claims the login role of an identifier for an account; `identifier_taken` if
/// another account holds it.
pub(super) async fn claim_login(tx: &Tx<'_>, tenant: &str, identifier: &Identifier, account_id: &str) -> TxResult<()> {
    let Some(key) = identifier.index_key() else { return Ok(()) };
    match tx.get::<IdentifierIndex>(tenant, &key).await? {
        Some(ix) if ix.account_id != account_id => abort(Error::IdentifierTaken(identifier.kind())),
        _ => tx.put(tenant, &key, &IdentifierIndex { account_id: account_id.to_string() }).await,
    }
}

/// Releases the login role of an identifier if this account holds it.
pub(super) async fn release_login(
    tx: &Tx<'_>,
    tenant: &str,
    identifier: &Identifier,
    account_id: &str,
) -> TxResult<()> {
    let Some(key) = identifier.index_key() else { return Ok(()) };
    if tx.get::<IdentifierIndex>(tenant, &key).await?.is_some_and(|ix| ix.account_id == account_id) {
        tx.remove::<IdentifierIndex>(tenant, &key).await?;
    }
    Ok(())
}

/// Indexes a binding (and its login role).
pub(super) async fn bind(tx: &Tx<'_>, tenant: &str, account_id: &str, b: &Binding) -> TxResult<()> {
    if b.roles.login {
        claim_login(tx, tenant, &b.kind.identifier(&b.value), account_id).await?;
    }
    let key = format!("{}{account_id}", binding_prefix(b.kind, &b.value));
    if tx.get::<BindingIndex>(tenant, &key).await?.is_none() {
        let count_key = binding_prefix(b.kind, &b.value);
        let c = tx.get::<BindingCount>(tenant, &count_key).await?.unwrap_or_default();
        tx.put(tenant, &count_key, &BindingCount { n: c.n + 1 }).await?;
    }
    tx.put(tenant, &key, &BindingIndex { roles: b.roles }).await
}

/// How many accounts a value is bound to, inside a transaction.
pub(super) async fn bound_count(tx: &Tx<'_>, tenant: &str, kind: Kind, value: &str) -> TxResult<usize> {
    Ok(tx.get::<BindingCount>(tenant, &binding_prefix(kind, value)).await?.map(|c| c.n).unwrap_or(0))
}

/// Removes a binding from the indexes.
pub(super) async fn unbind(tx: &Tx<'_>, tenant: &str, account_id: &str, b: &Binding) -> TxResult<()> {
    release_login(tx, tenant, &b.kind.identifier(&b.value), account_id).await?;
    let key = format!("{}{account_id}", binding_prefix(b.kind, &b.value));
    if tx.get::<BindingIndex>(tenant, &key).await?.is_some() {
        let count_key = binding_prefix(b.kind, &b.value);
        let c = tx.get::<BindingCount>(tenant, &count_key).await?.unwrap_or_default();
        tx.put(tenant, &count_key, &BindingCount { n: c.n.saturating_sub(1) }).await?;
    }
    tx.remove::<BindingIndex>(tenant, &key).await
}

/// Every account a value is bound to.
pub(super) async fn bound_accounts(store: &Store, tenant: &str, kind: Kind, value: &str) -> Result<Vec<String>> {
    let prefix = binding_prefix(kind, value);
    Ok(store
        .scan::<BindingIndex>(tenant, &prefix)
        .await?
        .into_iter()
        .map(|(k, _)| k[prefix.len()..].to_string())
        .collect())
}
