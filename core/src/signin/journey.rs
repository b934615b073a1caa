//! The one stored record of an unfinished sign-in (issue 11 item 1): what it has
//! proven so far (account, `amr`), where it goes once done (flow, next), and its
//! `state`, the one thing it still owes: a CAPTCHA a plugin asked for (W1, R19), a
//! second factor (R20), or, for a third-party sign-in, the choice between a new
//! account and a link, or a mobile or email the tenant requires (R17). The browser
//! holds a random token in a cookie; the store keeps its digest (`token_record`).
//! An owed CAPTCHA or second factor lives ten minutes and survives five wrong
//! answers; a federated journey lives fifteen minutes.
//!
//! Records of the two types this replaces (trees `pending_sign_ins` and
//! `federated_sign_ins`) are not read: they lived minutes, so a person caught by
//! the upgrade starts again. Their trees are left for sled to keep (nothing writes
//! or sweeps them any more).

use serde::{Deserialize, Serialize};

use crate::account::Kind;
use crate::error::{Error, Resource, Result};
use crate::federation::UpstreamIdentity;
use crate::store::{Record, Store, Tx, TxResult};
use crate::token_record;

/// How long a sign-in owing a CAPTCHA or a second factor lives.
pub const OWED_LIFETIME: u64 = 10 * 60;
/// How long a third-party sign-in waits for its choice or its contact.
pub const FEDERATED_LIFETIME: u64 = 15 * 60;
/// Wrong second-factor answers before the person must start again.
pub const MAX_FAILURES: u32 = 5;

/// An existing account the upstream's verified email or mobile points at:
/// (account id, kind, value).
pub type Candidate = (String, Kind, String);

/// What an unfinished sign-in still owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum State {
    /// A tenant plugin asked for a CAPTCHA (W1) that is not solved yet; a second
    /// factor may be owed after it (`then`).
    OwesCaptcha { then: Option<Offer>, password_expired: bool },
    /// A second factor is owed (R20).
    OwesSecondFactor { offer: Offer, password_expired: bool },
    /// A first sign-in with an unknown upstream subject: a new account or a link
    /// (R17); `candidate` is the account a link by code would reach.
    ChoosingAccount { identity: UpstreamIdentity, candidate: Option<Candidate> },
    /// A third-party sign-in reached its account, which must add the mobile or
    /// email the tenant requires first (R17).
    OwesContact { identity: UpstreamIdentity },
}

/// What the second step offers beside the factors themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The person may tick "remember this device".
    pub may_remember: bool,
}

/// An unfinished sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    /// The account, once known (a federated first sign-in has none yet).
    pub account_id: Option<String>,
    /// Factors proven so far (`amr`).
    pub amr: Vec<String>,
    /// The authorization flow to continue, if any.
    pub flow: Option<String>,
    /// Where to go once signed in (federated journeys compute it when they go on).
    pub next: String,
    /// Wrong second-factor answers so far.
    pub failures: u32,
    pub expires_at: u64,
    pub state: State,
}

impl Record for Journey {
    const TREE: &'static str = "sign_in_journeys";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

impl Journey {
    /// Whether it owes a CAPTCHA or a second factor (the second-step page's journeys).
    pub fn owes_a_step(&self) -> bool {
        matches!(self.state, State::OwesCaptcha { .. } | State::OwesSecondFactor { .. })
    }

    /// Whether it is a third-party sign-in waiting for a choice or a contact.
    pub fn federated(&self) -> bool {
        matches!(self.state, State::ChoosingAccount { .. } | State::OwesContact { .. })
    }

    /// The account, `not_found` until the sign-in reached one.
    pub fn account(&self) -> Result<&str> {
        self.account_id.as_deref().ok_or(Error::NotFound(Resource::Account))
    }

    /// The upstream identity of a federated journey.
    pub fn identity(&self) -> Option<&UpstreamIdentity> {
        match &self.state {
            State::ChoosingAccount { identity, .. } | State::OwesContact { identity } => Some(identity),
            _ => None,
        }
    }

    /// The offer of an owed second factor (now or after the CAPTCHA).
    pub fn offer(&self) -> Option<Offer> {
        match self.state {
            State::OwesCaptcha { then, .. } => then,
            State::OwesSecondFactor { offer, .. } => Some(offer),
            _ => None,
        }
    }

    /// The password is older than the tenant allows (R4), shown once signed in.
    pub fn password_expired(&self) -> bool {
        match self.state {
            State::OwesCaptcha { password_expired, .. } | State::OwesSecondFactor { password_expired, .. } => {
                password_expired
            }
            _ => false,
        }
    }
}

/// Stores a new journey; returns the cookie value. The caller commits.
pub async fn issue(store: &Store, tenant: &str, journey: &Journey) -> Result<String> {
    token_record::issue(store, tenant, journey).await
}

/// The live journey behind a cookie value.
pub async fn get(store: &Store, tenant: &str, token: &str, now: u64) -> Result<Option<Journey>> {
    token_record::get_live(store, tenant, token, now).await
}

/// Replaces the journey behind a cookie value.
pub async fn put(store: &Store, tenant: &str, token: &str, journey: &Journey) -> Result<()> {
    token_record::put(store, tenant, token, journey).await
}

/// Ends the journey behind a cookie value.
pub async fn end(store: &Store, tenant: &str, token: &str) -> Result<()> {
    token_record::remove::<Journey>(store, tenant, token).await.map(|_| ())
}

/// [`put`] inside a transaction over [`Journey`] (a token of the wrong length stores nothing).
pub async fn put_in(tx: &Tx<'_>, tenant: &str, token: &str, journey: &Journey) -> TxResult<()> {
    match token_record::key(token) {
        Some(k) => tx.put(tenant, &k, journey).await,
        None => Ok(()),
    }
}

/// [`end`] inside a transaction over [`Journey`].
pub async fn end_in(tx: &Tx<'_>, tenant: &str, token: &str) -> TxResult<()> {
    match token_record::key(token) {
        Some(k) => tx.remove::<Journey>(tenant, &k).await,
        None => Ok(()),
    }
}

/// Counts a wrong second-factor answer on the live journey behind `token`, inside
/// a transaction over [`Journey`]: the journey ends at the `MAX_FAILURES`th.
/// Returns whether it is still alive; `not_found` if there is none.
pub async fn wrong_answer_in(tx: &Tx<'_>, tenant: &str, token: &str, now: u64) -> TxResult<bool> {
    let Some(k) = token_record::key(token) else { return crate::store::abort(Error::NotFound(Resource::SignIn)) };
    let Some(mut j) = tx.get::<Journey>(tenant, &k).await?.filter(|j| j.expires_at > now) else {
        return crate::store::abort(Error::NotFound(Resource::SignIn));
    };
    j.failures += 1;
    if j.failures >= MAX_FAILURES {
        tx.remove::<Journey>(tenant, &k).await?;
        return Ok(false);
    }
    tx.put(tenant, &k, &j).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn federated(expires_at: u64) -> Journey {
        Journey {
            account_id: None,
            amr: vec!["fed".into()],
            flow: None,
            next: String::new(),
            failures: 0,
            expires_at,
            state: State::ChoosingAccount {
                identity: UpstreamIdentity { upstream: "up".into(), subject: "s".into(), ..Default::default() },
                candidate: None,
            },
        }
    }

    /// R17: the pending federated sign-in opens only with the browser's token (not
    /// its digest, which is all the store keeps), only while it lives, and not after
    /// it ended.
    #[tokio::test]
    async fn r17_pending_federated_sign_in_opens_only_with_its_live_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let token = issue(&store, "t", &federated(100)).await.unwrap();
        assert!(get(&store, "t", &token, 50).await.unwrap().is_some());
        assert!(get(&store, "t", &crate::secret::digest(&token), 50).await.unwrap().is_none());
        assert!(get(&store, "t", &token, 100).await.unwrap().is_none(), "expired");
        put(&store, "t", &token, &federated(200)).await.unwrap();
        assert!(get(&store, "t", &token, 150).await.unwrap().is_some());
        end(&store, "t", &token).await.unwrap();
        assert!(get(&store, "t", &token, 150).await.unwrap().is_none(), "ended");
    }

    /// R20: a wrong answer is counted on the journey; the fifth ends it.
    #[tokio::test]
    async fn r20_the_fifth_wrong_answer_ends_the_journey() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let j = Journey {
            account_id: Some("a".into()),
            state: State::OwesSecondFactor { offer: Offer { may_remember: false }, password_expired: false },
            ..federated(100)
        };
        let token = issue(&store, "t", &j).await.unwrap();
        for n in 1..MAX_FAILURES {
            let alive = store
                .transaction(&[Journey::TREE], async |tx| wrong_answer_in(tx, "t", &token, 50).await)
                .await
                .unwrap();
            assert!(alive, "alive after {n}");
            assert_eq!(get(&store, "t", &token, 50).await.unwrap().unwrap().failures, n);
        }
        let alive =
            store.transaction(&[Journey::TREE], async |tx| wrong_answer_in(tx, "t", &token, 50).await).await.unwrap();
        assert!(!alive);
        assert!(get(&store, "t", &token, 50).await.unwrap().is_none(), "ended");
    }
}
