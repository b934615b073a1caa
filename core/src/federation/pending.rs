//! A third-party sign-in that is not finished: a first sign-in choosing between a
//! new account and a link, or an account that must add a mobile or email first
//! (R17). The browser holds a random token in a cookie; the store keeps its digest
//! (`token_record`).

use serde::{Deserialize, Serialize};

use crate::account::{Account, Kind};
use crate::error::{Error, Result};
use crate::federation::UpstreamIdentity;
use crate::settings::RequireContact;
use crate::store::{Record, Store};
use crate::token_record;

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

/// Stores a new pending federated sign-in; returns the cookie value.
pub fn start(store: &Store, tenant: &str, p: &FederatedSignIn) -> Result<String> {
    token_record::issue(store, tenant, p)
}

/// The live pending federated sign-in behind a cookie value.
pub fn get(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<FederatedSignIn>> {
    token_record::get_live(store, tenant, token, now)
}

/// Replaces the pending federated sign-in behind a cookie value.
pub fn put(store: &Store, tenant: &str, token: &str, p: &FederatedSignIn) -> Result<()> {
    token_record::put(store, tenant, token, p)
}

/// Ends the pending federated sign-in behind a cookie value.
pub fn end(store: &Store, tenant: &str, token: &str) -> Result<()> {
    token_record::remove::<FederatedSignIn>(store, tenant, token).map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::UpstreamIdentity;

    fn record(expires_at: u64) -> FederatedSignIn {
        FederatedSignIn {
            identity: UpstreamIdentity { upstream: "up".into(), subject: "s".into(), ..Default::default() },
            candidate: None,
            account_id: None,
            amr: vec!["fed".into()],
            flow: None,
            expires_at,
        }
    }

    /// R17: the pending federated sign-in opens only with the browser's token (not
    /// its digest, which is all the store keeps), only while it lives, and not after
    /// it ended.
    #[tokio::test]
    async fn r17_pending_federated_sign_in_opens_only_with_its_live_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let token = start(&store, "t", &record(100)).unwrap();
        assert!(get(&store, "t", &token, 50).unwrap().is_some());
        assert!(get(&store, "t", &crate::secret::digest(&token), 50).unwrap().is_none());
        assert!(get(&store, "t", &token, 100).unwrap().is_none(), "expired");
        put(&store, "t", &token, &record(200)).unwrap();
        assert!(get(&store, "t", &token, 150).unwrap().is_some());
        end(&store, "t", &token).unwrap();
        assert!(get(&store, "t", &token, 150).unwrap().is_none(), "ended");
    }
}
