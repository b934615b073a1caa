//! Authorization codes: short-lived, single use, bound to client, redirect URI and
//! PKCE challenge. A code presented twice revokes what its first use issued.
//! Redemption is decided by one rule ([`Redemption`]), read once to sign the tokens
//! and again inside the transaction that takes the code and writes them.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grant::family::{self, Grant};
use crate::keys::b64;
use crate::secret;
use crate::store::{Record, Store, Tx, TxResult};

/// How long a code can be redeemed.
pub const CODE_LIFETIME: u64 = 60;
/// How long a redeemed code is remembered for reuse detection.
const REMEMBER: u64 = 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub valid_until: u64,
    pub redeemed: bool,
    pub expires_at: u64,
}

impl Record for CodeRecord {
    const TREE: &'static str = "codes";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Issues a code for a grant (whose family is already open).
pub async fn issue(
    store: &Store,
    tenant: &str,
    grant: Grant,
    redirect_uri: &str,
    code_challenge: Option<String>,
    now: u64,
) -> Result<String> {
    let code = secret::token();
    store.put(tenant, &secret::digest(&code), &record(grant, redirect_uri, code_challenge, now)).await?;
    Ok(code)
}

/// Stores `code` for a grant inside a transaction over [`CodeRecord`].
pub(crate) async fn issue_in(
    tx: &Tx<'_>,
    tenant: &str,
    code: &str,
    grant: Grant,
    redirect_uri: &str,
    code_challenge: Option<String>,
    now: u64,
) -> TxResult<()> {
    tx.put(tenant, &secret::digest(code), &record(grant, redirect_uri, code_challenge, now)).await
}

fn record(grant: Grant, redirect_uri: &str, code_challenge: Option<String>, now: u64) -> CodeRecord {
    CodeRecord {
        grant,
        redirect_uri: redirect_uri.to_string(),
        code_challenge,
        valid_until: now + CODE_LIFETIME,
        redeemed: false,
        expires_at: now + REMEMBER,
    }
}

/// S256: base64url(SHA-256(verifier)) == challenge, compared in constant time.
fn pkce_ok(challenge: &str, verifier: &str) -> bool {
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    valid_verifier && secret::eq(&b64(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref()), challenge)
}

/// What presenting a code comes to, decided from its record.
#[derive(Debug, Clone)]
pub(crate) enum Redemption {
    /// Live, unused, and everything it is bound to matches: it may be redeemed.
    Fresh(Grant),
    /// Presented again after its redemption: its family (this id) must be revoked.
    Reused(String),
    /// Unknown, expired, another client's, another redirect URI, or a wrong or
    /// missing PKCE verifier: `invalid_grant`, nothing written.
    Invalid,
}

/// The redemption rule over a code's record (see [`Redemption`]). A code presented by
/// another client is `Invalid` even once used: only its own client can burn a family.
fn redemption(
    rec: Option<CodeRecord>,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: u64,
) -> Redemption {
    let Some(rec) = rec else { return Redemption::Invalid };
    if rec.grant.client_id != client_id {
        return Redemption::Invalid;
    }
    if rec.redeemed {
        return Redemption::Reused(rec.grant.family);
    }
    let pkce = match (&rec.code_challenge, verifier) {
        (Some(c), Some(v)) => pkce_ok(c, v),
        (None, None) => true,
        _ => false,
    };
    if rec.valid_until <= now || redirect_uri != Some(rec.redirect_uri.as_str()) || !pkce {
        return Redemption::Invalid;
    }
    Redemption::Fresh(rec.grant)
}

/// What presenting `code` would come to now, read without a write (the caller signs
/// the tokens from it before [`redeem_in`] re-decides and writes).
pub(crate) async fn peek(
    store: &Store,
    tenant: &str,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: u64,
) -> Result<Redemption> {
    let rec = store.get::<CodeRecord>(tenant, &secret::digest(code)).await?;
    Ok(redemption(rec, client_id, redirect_uri, verifier, now))
}

/// Presents `code` inside a transaction over [`CodeRecord`] and
/// [`family::ISSUE_TREES`]: re-decides its [`Redemption`] (so of concurrent
/// redemptions exactly one is `Fresh`) and, if `Fresh`, marks it redeemed; if
/// `Reused`, revokes the family its first redemption issued. The caller writes the
/// tokens in the same transaction.
pub(crate) async fn redeem_in(
    tx: &Tx<'_>,
    tenant: &str,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: u64,
) -> TxResult<Redemption> {
    let key = secret::digest(code);
    let rec = tx.get::<CodeRecord>(tenant, &key).await?;
    let out = redemption(rec.clone(), client_id, redirect_uri, verifier, now);
    match (&out, rec) {
        (Redemption::Fresh(_), Some(mut rec)) => {
            rec.redeemed = true;
            tx.put(tenant, &key, &rec).await?;
        }
        (Redemption::Reused(fam), _) => family::revoke_in(tx, tenant, fam).await?,
        _ => {}
    }
    Ok(out)
}
