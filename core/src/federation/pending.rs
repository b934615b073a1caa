//! A third-party sign-in that is not finished: a first sign-in choosing between a
//! new account and a link, or an account that must add a mobile or email first
//! (R17). The browser holds a random token in a cookie; the store keeps its digest.

use serde::{Deserialize, Serialize};

use crate::account::{Account, Kind};
use crate::error::{Error, Result};
use crate::federation::UpstreamIdentity;
use crate::secret;
use crate::settings::RequireContact;
use crate::store::{Record, Store};

pub const LIFETIME: u64 = 15 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FederatedSignIn {
    pub identity: UpstreamIdentity,
    /// An existing account the upstream's verified email or mobile points at.
    #[serde(default)]
    pub candidate: Option<(String, Kind, String)>,
    /// The account once created or linked.
    #[serde(default)]
    pub account_id: Option<String>,
    /// `amr` values proven so far (`fed`, and `pwd` after linking by password).
    pub amr: Vec<String>,
    pub flow: Option<String>,
    pub expires_at: u64,
}

impl Record for FederatedSignIn {
    const TREE: &'static str = "federated_sign_ins";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

pub fn start(store: &Store, tenant: &str, p: &FederatedSignIn) -> Result<String> {
    let token = secret::token();
    store.put(tenant, &secret::digest(&token), p)?;
    Ok(token)
}

pub fn get(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<FederatedSignIn>> {
    if token.len() != 43 {
        return Ok(None);
    }
    store.get_live(tenant, &secret::digest(token), now)
}

pub fn put(store: &Store, tenant: &str, token: &str, p: &FederatedSignIn) -> Result<()> {
    store.put(tenant, &secret::digest(token), p)
}

pub fn end(store: &Store, tenant: &str, token: &str) -> Result<()> {
    store.remove::<FederatedSignIn>(tenant, &secret::digest(token)).map(|_| ())
}

/// The contact the tenant requires that the account lacks (R17), if any.
pub fn missing_contact(rule: RequireContact, account: &Account) -> Option<RequireContact> {
    let has = |k: Kind| account.bindings.iter().any(|b| b.kind == k && b.verified);
    let missing = match rule {
        RequireContact::None => false,
        RequireContact::Mobile => !has(Kind::Mobile),
        RequireContact::Email => !has(Kind::Email),
        RequireContact::Either => !has(Kind::Mobile) && !has(Kind::Email),
    };
    missing.then_some(rule)
}

/// `not_found` unless the sign-in has reached an account.
pub fn account_of(p: &FederatedSignIn) -> Result<&str> {
    p.account_id.as_deref().ok_or(Error::NotFound("account"))
}
