//! Authorization codes: short-lived, single use, bound to client, redirect URI and
//! PKCE challenge. A code presented twice revokes what its first use issued.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
pub fn issue(
    store: &Store,
    tenant: &str,
    grant: Grant,
    redirect_uri: &str,
    code_challenge: Option<String>,
    now: u64,
) -> Result<String> {
    let code = secret::token();
    store.put(tenant, &secret::digest(&code), &record(grant, redirect_uri, code_challenge, now))?;
    Ok(code)
}

/// Stores `code` for a grant inside a transaction over [`CodeRecord`].
pub(crate) fn issue_in(
    tx: &Tx<'_>,
    tenant: &str,
    code: &str,
    grant: Grant,
    redirect_uri: &str,
    code_challenge: Option<String>,
    now: u64,
) -> TxResult<()> {
    tx.put(tenant, &secret::digest(code), &record(grant, redirect_uri, code_challenge, now))
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

/// Redeems a code. Fails with `invalid_grant` if it is unknown, expired, for another
/// client or redirect URI, or the PKCE verifier is wrong or missing. A second
/// redemption revokes the family the first one opened.
pub fn redeem(
    store: &Store,
    tenant: &str,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: u64,
) -> Result<Grant> {
    enum Outcome {
        Ok(Grant),
        Reused(String),
        Invalid,
    }
    let outcome = store.update::<CodeRecord, _>(tenant, &secret::digest(code), |old| {
        let Some(mut rec) = old else { return Ok((None, Outcome::Invalid)) };
        if rec.grant.client_id != client_id {
            return Ok((None, Outcome::Invalid));
        }
        if rec.redeemed {
            return Ok((None, Outcome::Reused(rec.grant.family.clone())));
        }
        let pkce = match (&rec.code_challenge, verifier) {
            (Some(c), Some(v)) => pkce_ok(c, v),
            (None, None) => true,
            _ => false,
        };
        if rec.valid_until <= now || redirect_uri != Some(rec.redirect_uri.as_str()) || !pkce {
            return Ok((None, Outcome::Invalid));
        }
        rec.redeemed = true;
        let g = rec.grant.clone();
        Ok((Some(rec), Outcome::Ok(g)))
    })?;
    match outcome {
        Outcome::Ok(g) => Ok(g),
        Outcome::Invalid => Err(Error::InvalidGrant),
        Outcome::Reused(fam) => {
            tracing::warn!(tenant, client_id, "authorization code reuse: tokens revoked");
            family::revoke(store, tenant, &fam)?;
            Err(Error::InvalidGrant)
        }
    }
}
