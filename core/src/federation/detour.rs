//! The round trip to an upstream: what the callback must find again (R17). The
//! `state` sent upstream is a random token; the store keeps its digest, and the
//! browser keeps the token in a cookie, so only the browser that left can come back
//! (no login CSRF). Single use, ten minutes.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::{Record, Store};
use crate::token_record;

pub const LIFETIME: u64 = 10 * 60;

/// Why the person went upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Purpose {
    SignIn,
    /// Link the upstream account to this signed-in account (R28).
    Link {
        account_id: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detour {
    pub upstream: String,
    pub nonce: String,
    /// The PKCE verifier (short-lived; only its holder can redeem the code).
    pub pkce_verifier: String,
    /// The authorization flow to continue, if any.
    pub flow: Option<String>,
    pub purpose: Purpose,
    pub expires_at: u64,
}

impl Record for Detour {
    const TREE: &'static str = "federation_detours";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Stores a detour under `state` (a fresh `secret::token()`).
pub async fn put(store: &Store, tenant: &str, state: &str, detour: &Detour) -> Result<()> {
    token_record::put(store, tenant, state, detour).await
}

/// Takes the detour of `state` (it cannot be used again).
pub async fn take(store: &Store, tenant: &str, state: &str, now: u64) -> Result<Option<Detour>> {
    let d = token_record::remove::<Detour>(store, tenant, state).await?;
    Ok(d.filter(|d| d.expires_at > now))
}
