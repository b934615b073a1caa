//! Token families: everything issued from one authorization (access tokens and a chain
//! of rotating refresh tokens). Presenting a refresh token that was already rotated
//! revokes the whole family (RFC 9700 §4.14.2).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grant::{account_families, revoked};
use crate::secret;
use crate::store::{Record, Store, Tx, TxResult};

/// What an authorization granted; carried from code to refresh token to refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub family: String,
    pub client_id: String,
    pub account_id: String,
    pub scopes: Vec<String>,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub acr: String,
    pub sid: String,
    /// Only on the first issue (from the authorization code).
    #[serde(default)]
    pub nonce: Option<String>,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Family {
    pub client_id: String,
    pub account_id: String,
    pub revoked: bool,
    /// Access tokens issued in the family: (jti, expiry).
    pub access: Vec<(String, u64)>,
    pub expires_at: u64,
}

impl Record for Family {
    const TREE: &'static str = "families";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// A refresh token, stored under the digest of its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub grant: Grant,
    pub issued_at: u64,
    pub expires_at: u64,
    /// Set once it has been exchanged for a new one.
    pub used: bool,
}

impl Record for RefreshToken {
    const TREE: &'static str = "refresh_tokens";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Starts a family for a new authorization; returns its id.
pub async fn open(store: &Store, tenant: &str, client_id: &str, account_id: &str, expires_at: u64) -> Result<String> {
    let id = secret::token_of(16);
    let fam = Family {
        client_id: client_id.into(),
        account_id: account_id.into(),
        revoked: false,
        access: Vec::new(),
        expires_at,
    };
    store.put(tenant, &id, &fam).await?;
    account_families::note(store, tenant, account_id, &id, expires_at).await?;
    Ok(id)
}

/// Starts family `id` for a new authorization inside a transaction over
/// [`Family`] and [`account_families::AccountFamily`].
pub(crate) async fn open_in(
    tx: &Tx<'_>,
    tenant: &str,
    id: &str,
    client_id: &str,
    account_id: &str,
    expires_at: u64,
) -> TxResult<()> {
    let fam = Family {
        client_id: client_id.into(),
        account_id: account_id.into(),
        revoked: false,
        access: Vec::new(),
        expires_at,
    };
    tx.put(tenant, id, &fam).await?;
    account_families::note_in(tx, tenant, account_id, id, expires_at).await
}

/// The trees a grant's token issue writes: the family (its access tokens and expiry),
/// the account's index of families, refresh tokens, and revoked access tokens.
pub(crate) const ISSUE_TREES: &[&str] =
    &[Family::TREE, account_families::AccountFamily::TREE, RefreshToken::TREE, revoked::Revoked::TREE];

/// Notes an access token issued in the family, so revoking the family revokes it,
/// inside a transaction over [`ISSUE_TREES`]. If the family was revoked meanwhile
/// (or is gone), the token is revoked at once.
pub(crate) async fn record_access_in(tx: &Tx<'_>, tenant: &str, family: &str, jti: &str, exp: u64) -> TxResult<()> {
    let Some(mut f) = tx.get::<Family>(tenant, family).await? else {
        return revoked::revoke_in(tx, tenant, jti, exp).await;
    };
    f.access.retain(|(_, e)| *e > exp.saturating_sub(24 * 3600));
    f.access.push((jti.to_string(), exp));
    // The account's index of families expires with the family.
    let longer = exp > f.expires_at;
    f.expires_at = f.expires_at.max(exp);
    tx.put(tenant, family, &f).await?;
    if f.revoked {
        revoked::revoke_in(tx, tenant, jti, exp).await?;
    } else if longer {
        account_families::note_in(tx, tenant, &f.account_id, family, exp).await?;
    }
    Ok(())
}

/// Stores refresh token `token` in the grant's family (the family lives at least as
/// long), inside a transaction over [`ISSUE_TREES`].
pub(crate) async fn issue_refresh_in(
    tx: &Tx<'_>,
    tenant: &str,
    grant: &Grant,
    token: &str,
    now: u64,
    lifetime: u64,
) -> TxResult<()> {
    let mut g = grant.clone();
    g.nonce = None;
    let rt = RefreshToken { grant: g, issued_at: now, expires_at: now + lifetime, used: false };
    tx.put(tenant, &secret::digest(token), &rt).await?;
    if let Some(mut f) = tx.get::<Family>(tenant, &grant.family).await? {
        f.expires_at = f.expires_at.max(now + lifetime);
        tx.put(tenant, &grant.family, &f).await?;
        account_families::note_in(tx, tenant, &grant.account_id, &grant.family, f.expires_at).await?;
    }
    Ok(())
}

/// Issues a refresh token in the grant's family, in one transaction.
pub async fn issue_refresh(store: &Store, tenant: &str, grant: &Grant, now: u64, lifetime: u64) -> Result<String> {
    let token = secret::token();
    store.transaction(ISSUE_TREES, async |tx| issue_refresh_in(tx, tenant, grant, &token, now, lifetime).await).await?;
    Ok(token)
}

/// Revokes a family and every access token issued in it, inside a transaction over
/// [`Family`] and [`revoked::Revoked`].
pub(crate) async fn revoke_in(tx: &Tx<'_>, tenant: &str, family: &str) -> TxResult<()> {
    let Some(mut f) = tx.get::<Family>(tenant, family).await? else { return Ok(()) };
    f.revoked = true;
    tx.put(tenant, family, &f).await?;
    for (jti, exp) in &f.access {
        revoked::revoke_in(tx, tenant, jti, *exp).await?;
    }
    Ok(())
}

/// Revokes a family and every access token issued in it, in one transaction.
pub async fn revoke(store: &Store, tenant: &str, family: &str) -> Result<()> {
    store.transaction(&[Family::TREE, revoked::Revoked::TREE], async |tx| revoke_in(tx, tenant, family).await).await
}

/// True if the family is live (not revoked, not expired).
pub async fn is_live(store: &Store, tenant: &str, family: &str, now: u64) -> Result<bool> {
    Ok(store.get_live::<Family>(tenant, family, now).await?.is_some_and(|f| !f.revoked))
}

/// The live refresh token behind a value (for introspection and revocation).
pub async fn find(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<RefreshToken>> {
    store.get_live(tenant, &secret::digest(token), now).await
}

/// A refresh exchange: the grant, whole (the next refresh token carries all of it),
/// and the scopes of the tokens issued now (RFC 6749 §6: a narrower `scope` narrows
/// only this issue, never the grant).
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub grant: Grant,
    pub scopes: Vec<String>,
}

/// Why a refresh was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefused {
    /// Unknown, expired, of another client, or its family is revoked: `invalid_grant`.
    Invalid,
    /// Presented again after rotation: the family is now revoked. `invalid_grant`; the
    /// caller makes the revocation durable before answering.
    Reused,
    /// `scope` asks for more than was granted: `invalid_scope`. The token is not used up.
    WiderScope,
}

/// What presenting a refresh token comes to, decided from its record and its family.
#[derive(Debug, Clone)]
pub(crate) enum Rotation {
    /// Live and unused: it may be rotated.
    Fresh(Refreshed),
    /// Presented again after rotation: its family (this id) must be revoked.
    Reused(String),
    /// Refused without a write.
    Refused(RefreshRefused),
}

/// The rotation rule: a token that is unknown, expired, another client's, or of a
/// family that is not live is `Invalid`; a used one is `Reused`; a `requested` scope
/// wider than the grant is `WiderScope` (checked before anything is written, so the
/// token stays usable).
fn rotation(
    rt: Option<RefreshToken>,
    family: impl FnOnce(&str) -> Option<Family>,
    client_id: &str,
    requested: Option<&[String]>,
    now: u64,
) -> Rotation {
    let requested = requested.filter(|r| !r.is_empty());
    let refused = Rotation::Refused;
    let Some(rt) = rt else { return refused(RefreshRefused::Invalid) };
    if rt.expires_at <= now || rt.grant.client_id != client_id {
        return refused(RefreshRefused::Invalid);
    }
    if rt.used {
        return Rotation::Reused(rt.grant.family);
    }
    if requested.is_some_and(|r| r.iter().any(|s| !rt.grant.has_scope(s))) {
        return refused(RefreshRefused::WiderScope);
    }
    if !family(&rt.grant.family).is_some_and(|f| !f.revoked && f.expires_at > now) {
        return refused(RefreshRefused::Invalid);
    }
    let scopes = requested.map(<[String]>::to_vec).unwrap_or_else(|| rt.grant.scopes.clone());
    Rotation::Fresh(Refreshed { grant: rt.grant, scopes })
}

/// What presenting `token` would come to now, read without a write (the caller signs
/// the new tokens from it before [`rotate_in`] re-decides and writes).
pub(crate) async fn peek_rotation(
    store: &Store,
    tenant: &str,
    client_id: &str,
    token: &str,
    requested: Option<&[String]>,
    now: u64,
) -> Result<Rotation> {
    let rt = store.get::<RefreshToken>(tenant, &secret::digest(token)).await?;
    // Read before the (sync) rule, as `rotate_in` does.
    let fam = match &rt {
        Some(rt) => store.get::<Family>(tenant, &rt.grant.family).await?,
        None => None,
    };
    Ok(rotation(rt, |_| fam, client_id, requested, now))
}

/// Presents `token` inside a transaction over [`ISSUE_TREES`]: re-decides its
/// [`Rotation`] and, if `Fresh`, marks it used; if `Reused`, revokes its family (and
/// its access tokens). The caller writes the new tokens in the same transaction.
pub(crate) async fn rotate_in(
    tx: &Tx<'_>,
    tenant: &str,
    client_id: &str,
    token: &str,
    requested: Option<&[String]>,
    now: u64,
) -> TxResult<Rotation> {
    let key = secret::digest(token);
    let rt = tx.get::<RefreshToken>(tenant, &key).await?;
    let fam = match &rt {
        Some(rt) => tx.get::<Family>(tenant, &rt.grant.family).await?,
        None => None,
    };
    let out = rotation(rt.clone(), |_| fam, client_id, requested, now);
    match (&out, rt) {
        (Rotation::Fresh(_), Some(mut rt)) => {
            rt.used = true;
            tx.put(tenant, &key, &rt).await?;
        }
        (Rotation::Reused(family), _) => revoke_in(tx, tenant, family).await?,
        _ => {}
    }
    Ok(out)
}
