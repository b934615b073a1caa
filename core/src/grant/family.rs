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
pub fn open(store: &Store, tenant: &str, client_id: &str, account_id: &str, expires_at: u64) -> Result<String> {
    let id = secret::token_of(16);
    let fam = Family {
        client_id: client_id.into(),
        account_id: account_id.into(),
        revoked: false,
        access: Vec::new(),
        expires_at,
    };
    store.put(tenant, &id, &fam)?;
    account_families::note(store, tenant, account_id, &id, expires_at)?;
    Ok(id)
}

/// Starts family `id` for a new authorization inside a transaction over
/// [`Family`] and [`account_families::AccountFamily`].
pub(crate) fn open_in(
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
    tx.put(tenant, id, &fam)?;
    account_families::note_in(tx, tenant, account_id, id, expires_at)
}

/// Notes an access token issued in the family, so revoking the family revokes it.
/// If the family was revoked meanwhile, the token is revoked at once.
pub fn record_access(store: &Store, tenant: &str, family: &str, jti: &str, exp: u64) -> Result<()> {
    let (revoked_already, owner) = store.update::<Family, _>(tenant, family, |old| match old {
        Some(mut f) => {
            let was = f.revoked;
            f.access.retain(|(_, e)| *e > exp.saturating_sub(24 * 3600));
            f.access.push((jti.to_string(), exp));
            // The account's index of families expires with the family.
            let owner = (exp > f.expires_at).then(|| (f.account_id.clone(), exp));
            f.expires_at = f.expires_at.max(exp);
            Ok((Some(f), (was, owner)))
        }
        None => Ok((None, (true, None))),
    })?;
    if revoked_already {
        revoked::revoke(store, tenant, jti, exp)?;
    } else if let Some((account_id, expires_at)) = owner {
        account_families::note(store, tenant, &account_id, family, expires_at)?;
    }
    Ok(())
}

/// Issues a refresh token in the grant's family.
pub fn issue_refresh(store: &Store, tenant: &str, grant: &Grant, now: u64, lifetime: u64) -> Result<String> {
    let token = secret::token();
    let mut g = grant.clone();
    g.nonce = None;
    let rt = RefreshToken { grant: g, issued_at: now, expires_at: now + lifetime, used: false };
    store.put(tenant, &secret::digest(&token), &rt)?;
    let expires_at = store.update::<Family, _>(tenant, &grant.family, |old| match old {
        Some(mut f) => {
            f.expires_at = f.expires_at.max(now + lifetime);
            let e = f.expires_at;
            Ok((Some(f), Some(e)))
        }
        None => Ok((None, None)),
    })?;
    if let Some(e) = expires_at {
        account_families::note(store, tenant, &grant.account_id, &grant.family, e)?;
    }
    Ok(token)
}

/// Revokes a family and every access token issued in it.
pub fn revoke(store: &Store, tenant: &str, family: &str) -> Result<()> {
    let access = store.update::<Family, _>(tenant, family, |old| match old {
        Some(mut f) => {
            let access = f.access.clone();
            f.revoked = true;
            Ok((Some(f), access))
        }
        None => Ok((None, Vec::new())),
    })?;
    for (jti, exp) in access {
        revoked::revoke(store, tenant, &jti, exp)?;
    }
    Ok(())
}

/// True if the family is live (not revoked, not expired).
pub fn is_live(store: &Store, tenant: &str, family: &str, now: u64) -> Result<bool> {
    Ok(store.get_live::<Family>(tenant, family, now)?.is_some_and(|f| !f.revoked))
}

/// The live refresh token behind a value (for introspection and revocation).
pub fn find(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<RefreshToken>> {
    store.get_live(tenant, &secret::digest(token), now)
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

/// Exchanges a refresh token for its grant, marking it used (rotation). A token that
/// was already used revokes its family. A `requested` scope wider than the grant is
/// refused before anything is written, so the token stays usable.
pub fn rotate(
    store: &Store,
    tenant: &str,
    client_id: &str,
    token: &str,
    requested: Option<&[String]>,
    now: u64,
) -> Result<std::result::Result<Refreshed, RefreshRefused>> {
    enum Outcome {
        Fresh(Grant),
        Reused(String),
        Refused(RefreshRefused),
    }
    let requested = requested.filter(|r| !r.is_empty());
    let wider = |g: &Grant| requested.is_some_and(|r| r.iter().any(|s| !g.has_scope(s)));
    let outcome = store.update::<RefreshToken, _>(tenant, &secret::digest(token), |old| match old {
        Some(rt) if rt.expires_at <= now => Ok((None, Outcome::Refused(RefreshRefused::Invalid))),
        Some(rt) if rt.grant.client_id != client_id => Ok((None, Outcome::Refused(RefreshRefused::Invalid))),
        Some(rt) if rt.used => Ok((None, Outcome::Reused(rt.grant.family.clone()))),
        Some(rt) if wider(&rt.grant) => Ok((None, Outcome::Refused(RefreshRefused::WiderScope))),
        Some(mut rt) => {
            rt.used = true;
            let g = rt.grant.clone();
            Ok((Some(rt), Outcome::Fresh(g)))
        }
        None => Ok((None, Outcome::Refused(RefreshRefused::Invalid))),
    })?;
    match outcome {
        Outcome::Fresh(grant) if is_live(store, tenant, &grant.family, now)? => {
            let scopes = requested.map(<[String]>::to_vec).unwrap_or_else(|| grant.scopes.clone());
            Ok(Ok(Refreshed { grant, scopes }))
        }
        Outcome::Fresh(_) => Ok(Err(RefreshRefused::Invalid)),
        Outcome::Refused(r) => Ok(Err(r)),
        Outcome::Reused(family) => {
            tracing::warn!(tenant, client_id, "refresh token reuse: family revoked");
            revoke(store, tenant, &family)?;
            Ok(Err(RefreshRefused::Reused))
        }
    }
}
