//! Third-party sign-in through the sign-in machine (R17, R28): the detour to an
//! upstream and back, a known subject signing in, an unknown one waiting for its
//! choice, linking from the account center, and the common end of every federated
//! step (`proceed`): a contact the tenant requires, or on like any sign-in (the
//! plugin hook, the second factor, the session). Each operation is durable before
//! it returns; the HTTP round trips to the upstream stay at the edge.

use serde_json::json;

use crate::account::{Account, Kind};
use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::federation::UpstreamIdentity;
use crate::federation::detour::{self, Detour};
use crate::federation::first::Outcome;
use crate::federation::link;
use crate::secret;
use crate::session::Origin;
use crate::settings::RequireContact;
use crate::signin::journey::{self, Journey, State};
use crate::signin::level::Method;
use crate::signin::{Browser, SignInStep, SignIns};

/// Where a sign-in goes once signed in, from the tenant and its authorization flow
/// (the edge's path to resume the flow, or the account center).
pub type NextPath = fn(&str, Option<&str>) -> String;

/// What a federated step answers; the edge renders it.
#[derive(Debug)]
pub enum FederatedStep {
    /// A first sign-in with this subject: the browser keeps `token` (the pending
    /// federated sign-in) and goes to the page offering a new account or a link.
    First { token: String },
    /// The account must add the mobile or email the tenant requires first: the
    /// browser keeps `token` and goes to the page that adds it.
    Contact { token: String },
    /// The federated part is done; the sign-in goes on as this step says (the
    /// browser's pending federated sign-in is over).
    Step(SignInStep),
    /// The browser holds no live pending federated sign-in.
    Expired,
    /// A step of the first sign-in failed (a wrong password or code, a refused
    /// send); the page shows it again.
    Refused(Error),
    /// A code was sent; the page shows it again with "code sent".
    Sent,
    /// The upstream may not create accounts (or one is already reached).
    NoCreate,
    /// No existing account to link by code.
    NoCandidate,
}

/// A third-party sign-in waiting for the person's choice or a contact, as its
/// pages see it; the edge hands it back to take the next step. The journey inside
/// is core's.
#[derive(Debug, Clone)]
pub struct FederatedPending {
    pub(super) token: String,
    pub(super) journey: Journey,
    pub(super) identity: UpstreamIdentity,
}

impl FederatedPending {
    /// The upstream the person came back from.
    pub fn upstream(&self) -> &str {
        &self.identity.upstream
    }

    /// The name the upstream gave, if any.
    pub fn name(&self) -> Option<&str> {
        self.identity.name.as_deref()
    }

    /// The existing account a link by code would reach: its address (kind, value).
    pub fn candidate(&self) -> Option<(Kind, &str)> {
        match &self.journey.state {
            State::ChoosingAccount { candidate: Some((_, kind, value)), .. } => Some((*kind, value.as_str())),
            _ => None,
        }
    }

    /// The sign-in reached its account and owes the contact the tenant requires.
    pub fn owes_contact(&self) -> bool {
        matches!(self.journey.state, State::OwesContact { .. })
    }
}

/// How linking from the account center ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// The subject is now linked to the account.
    Linked,
    /// The subject is linked to another account already.
    Taken,
    /// The browser is not signed in as the account that asked (sign in again).
    NotSignedIn,
}

impl SignIns {
    /// Stores the detour to an upstream under `state` (a fresh `secret::token()` the
    /// upstream URL carries and the browser keeps in a cookie), durably.
    pub async fn federated_leave(&self, tenant: &str, state: &str, detour: &Detour) -> Result<()> {
        detour::put(&self.store, tenant, state, detour).await?;
        self.store.commit().await?;
        Ok(())
    }

    /// Takes (single use, durably) the detour of a return from `upstream`: only when
    /// the `state` the upstream sent back equals the browser's cookie (no login
    /// CSRF), the detour is live and it went to this upstream.
    pub async fn federated_return(
        &self,
        tenant: &str,
        upstream: &str,
        state: &str,
        cookie: Option<&str>,
    ) -> Result<Option<Detour>> {
        let ours = cookie.is_some_and(|c| secret::eq(c, state));
        let detour = if ours { detour::take(&self.store, tenant, state, self.clock.now()).await? } else { None };
        let Some(detour) = detour.filter(|d| d.upstream == upstream) else { return Ok(None) };
        self.store.commit().await?;
        Ok(Some(detour))
    }

    /// A verified upstream `identity` came back for a sign-in in `flow`: a linked
    /// subject signs in to its account (see `proceed`), an unknown one waits for
    /// the person's choice (`First`).
    pub async fn federated_callback(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        identity: UpstreamIdentity,
        flow: Option<String>,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let now = self.clock.now();
        let outcome = self.accounts.federated(tenant, &identity).await?;
        let j = |state| Journey {
            account_id: None,
            amr: vec!["fed".into()],
            flow,
            next: String::new(),
            failures: 0,
            expires_at: now + journey::FEDERATED_LIFETIME,
            state,
        };
        match outcome {
            Outcome::Linked(l) => {
                link::touch(&self.store, tenant, &l.upstream, &l.subject, now).await?;
                let account = self.accounts.get(tenant, &l.account_id).await?;
                let j = j(State::ChoosingAccount { identity: identity.clone(), candidate: None });
                self.proceed(tenant, browser, None, j, &identity, account, next).await
            }
            Outcome::Unknown { candidate } => {
                let candidate = candidate.map(|m| (m.account_id, m.kind, m.value));
                let token =
                    journey::issue(&self.store, tenant, &j(State::ChoosingAccount { identity, candidate })).await?;
                self.store.commit().await?;
                Ok(FederatedStep::First { token })
            }
        }
    }

    /// The live third-party sign-in behind the browser's cookie, if any.
    pub async fn federated_pending(&self, tenant: &str, token: &str) -> Result<Option<FederatedPending>> {
        let Some(j) = journey::get(&self.store, tenant, token, self.clock.now()).await? else { return Ok(None) };
        let Some(identity) = j.identity().cloned() else { return Ok(None) };
        Ok(Some(FederatedPending { token: token.to_string(), journey: j, identity }))
    }

    /// The contact rule of the tenant (R17), for the page that asks for it.
    pub async fn required_contact(&self, tenant: &str) -> Result<RequireContact> {
        Ok(self.settings(tenant).await?.federation.require_contact)
    }

    /// Links `identity` to the signed-in account that asked to (the detour's
    /// `account_id`), from the account center (R28): refused unless the browser is
    /// signed in as that account (`signed_in_as`); audited, durably.
    pub async fn federated_link(
        &self,
        tenant: &str,
        account_id: &str,
        signed_in_as: Option<&str>,
        identity: &UpstreamIdentity,
        origin: &Origin,
        locale: &str,
    ) -> Result<Linked> {
        if signed_in_as != Some(account_id) {
            return Ok(Linked::NotSignedIn);
        }
        let done = match self.link_and_tell(tenant, account_id, identity, locale).await {
            Ok(()) => Linked::Linked,
            Err(Error::IdentifierTaken(_)) => Linked::Taken,
            Err(e) => return Err(e),
        };
        self.federated_event(tenant, account_id, "federated_linked", origin, &identity.upstream).await?;
        self.store.commit().await?;
        Ok(done)
    }

    /// Unlinks one upstream subject from the account (R28), unless it is the last
    /// way to sign in (`refused`); `not_found` if it is not linked. Audited, durably.
    pub async fn federated_unlink(
        &self,
        tenant: &str,
        account_id: &str,
        upstream: &str,
        subject: &str,
        origin: &Origin,
    ) -> Result<()> {
        let passkeys = self.passkeys.count(tenant, account_id).await?;
        self.accounts.unlink_federated(tenant, account_id, upstream, subject, passkeys).await?;
        self.federated_event(tenant, account_id, "federated_unlinked", origin, upstream).await?;
        self.store.commit().await?;
        Ok(())
    }

    /// Links the identity to the account (its contacts are told, durably).
    pub(super) async fn link_and_tell(
        &self,
        tenant: &str,
        account_id: &str,
        identity: &UpstreamIdentity,
        locale: &str,
    ) -> Result<()> {
        let upstream = &identity.upstream;
        let name = self.upstreams.get(tenant, upstream).await.map_or_else(|_| upstream.clone(), |u| u.display_name);
        self.accounts.link_federated(tenant, account_id, identity, &name, locale).await?;
        Ok(())
    }

    /// Records a federation event of the account, with its upstream.
    pub(super) async fn federated_event(
        &self,
        tenant: &str,
        account_id: &str,
        action: &str,
        origin: &Origin,
        upstream: &str,
    ) -> Result<()> {
        let event = AuditEvent::new(self.clock.now(), account_id, action)
            .ip(Some(&origin.ip))
            .detail(json!({ "upstream": upstream }));
        audit::record(&self.store, tenant, &event).await
    }

    /// The sign-in reached `account`: unless the tenant still requires a contact the
    /// account lacks (then `Contact`, the journey kept under `token` or a new one,
    /// in one write), it goes on like any sign-in with the methods proven, its next
    /// write ending the journey behind `token`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn proceed(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: Option<&str>,
        mut j: Journey,
        identity: &UpstreamIdentity,
        account: Account,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let settings = self.settings(tenant).await?;
        j.account_id = Some(account.id.clone());
        if missing_contact(settings.federation.require_contact, &account).is_some() {
            j.state = State::OwesContact { identity: identity.clone() };
            let token = match token {
                Some(t) => {
                    journey::put(&self.store, tenant, t, &j).await?;
                    t.to_string()
                }
                None => journey::issue(&self.store, tenant, &j).await?,
            };
            self.store.commit().await?;
            return Ok(FederatedStep::Contact { token });
        }
        let methods: Vec<Method> = j
            .amr
            .iter()
            .filter_map(|a| match a.as_str() {
                "pwd" => Some(Method::Password),
                "fed" => Some(Method::Federated),
                _ => None,
            })
            .collect();
        let signed = self.accounts.signed_in(tenant, &settings, account, &methods)?;
        let flow = j.flow.as_deref();
        let facts = self.flow_or_id(tenant, flow).await;
        let next = next(tenant, flow);
        let step = self.continue_after(tenant, &settings, browser, facts.as_ref(), signed, next, token).await?;
        Ok(FederatedStep::Step(step))
    }
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
