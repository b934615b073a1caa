//! Links between an account and upstream subjects (R17, R28): one subject belongs to
//! one account; an account may have several. Kept in two trees written together: by
//! subject (sign-in) and by account (the account center).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Field, Result};
use crate::federation::UpstreamIdentity;
use crate::store::{Record, Store, Tx, TxResult, abort};

/// One linked third-party account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub account_id: String,
    pub upstream: String,
    pub subject: String,
    /// What the upstream called the person when linked (shown in the account center).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub created_at: u64,
    #[serde(default)]
    pub last_used_at: Option<u64>,
}

impl Record for Link {
    const TREE: &'static str = "federated_links";
    const VERSION: u32 = 1;
}

/// Index: account -> its links, under `{account}/{upstream}/{subject}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountLink {}

impl Record for AccountLink {
    const TREE: &'static str = "account_links";
    const VERSION: u32 = 1;
}

pub const TREES: &[&str] = &[Link::TREE, AccountLink::TREE];

fn key(upstream: &str, subject: &str) -> String {
    format!("{upstream}/{subject}")
}

impl Link {
    pub fn new(account_id: &str, identity: &UpstreamIdentity, now: u64) -> Result<Link> {
        if identity.subject.is_empty() || identity.subject.len() > 255 {
            return Err(Error::invalid(Field::Subject, "the upstream gave no usable subject"));
        }
        Ok(Link {
            account_id: account_id.to_string(),
            upstream: identity.upstream.clone(),
            subject: identity.subject.clone(),
            name: identity.name.clone(),
            email: identity.email.clone(),
            created_at: now,
            last_used_at: Some(now),
        })
    }
}

/// Writes a link inside a transaction; `identifier_taken` if the subject is linked
/// to another account.
pub(crate) async fn put_in(tx: &Tx<'_>, tenant: &str, link: &Link) -> TxResult<()> {
    let k = key(&link.upstream, &link.subject);
    if let Some(existing) = tx.get::<Link>(tenant, &k).await?
        && existing.account_id != link.account_id
    {
        return abort(Error::IdentifierTaken(crate::IdentifierKind::ThirdPartyAccount));
    }
    tx.put(tenant, &k, link).await?;
    tx.put(tenant, &format!("{}/{k}", link.account_id), &AccountLink {}).await
}

/// Links an upstream subject to an existing account.
pub async fn link(store: &Store, tenant: &str, link: &Link) -> Result<()> {
    store.transaction(TREES, async |tx| put_in(tx, tenant, link).await).await
}

/// The link of an upstream subject, if any.
pub async fn find(store: &Store, tenant: &str, upstream: &str, subject: &str) -> Result<Option<Link>> {
    if subject.len() > 255 {
        return Ok(None);
    }
    store.get(tenant, &key(upstream, subject)).await
}

/// The account's links, oldest first.
pub async fn list(store: &Store, tenant: &str, account_id: &str) -> Result<Vec<Link>> {
    let prefix = format!("{account_id}/");
    let mut out = Vec::new();
    for (k, _) in store.scan::<AccountLink>(tenant, &prefix).await? {
        if let Some(l) = store.get::<Link>(tenant, &k[prefix.len()..]).await? {
            out.push(l);
        }
    }
    out.sort_by_key(|l| l.created_at);
    Ok(out)
}

/// Notes a sign-in through a link.
pub async fn touch(store: &Store, tenant: &str, upstream: &str, subject: &str, now: u64) -> Result<()> {
    store
        .update::<Link, _>(tenant, &key(upstream, subject), |old| {
            Ok((
                old.map(|mut l| {
                    l.last_used_at = Some(now);
                    l
                }),
                (),
            ))
        })
        .await
}

/// Removes one of the account's links; false if it had no such link.
pub(crate) async fn remove(
    store: &Store,
    tenant: &str,
    account_id: &str,
    upstream: &str,
    subject: &str,
) -> Result<bool> {
    let k = key(upstream, subject);
    store
        .transaction(TREES, async |tx| match tx.get::<Link>(tenant, &k).await? {
            Some(l) if l.account_id == account_id => {
                tx.remove::<Link>(tenant, &k).await?;
                tx.remove::<AccountLink>(tenant, &format!("{account_id}/{k}")).await?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
}
