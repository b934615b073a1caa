//! Third-party sign-in through the sign-in machine (R17, R28): the detour to an
//! upstream and back, a known subject signing in, an unknown one waiting for its
//! choice, linking from the account center, and the common end of every federated
//! step (`proceed`): a contact the tenant requires, or on like any sign-in (the
//! plugin hook, the second factor, the session). Each operation is durable before
//! it returns; the HTTP round trips to the upstream stay at the edge.

use serde_json::json;

use crate::account::Account;
use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::federation::UpstreamIdentity;
use crate::federation::detour::{self, Detour};
use crate::federation::first::Outcome;
use crate::federation::link;
use crate::federation::pending::{self, FederatedSignIn};
use crate::secret;
use crate::session::Origin;
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
        detour::put(&self.store, tenant, state, detour)?;
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
        let detour = if ours { detour::take(&self.store, tenant, state, self.clock.now())? } else { None };
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
        let outcome = self.accounts.federated(tenant, &identity)?;
        let mut p = FederatedSignIn {
            identity,
            candidate: None,
            account_id: None,
            amr: vec!["fed".into()],
            flow,
            expires_at: now + pending::LIFETIME,
        };
        match outcome {
            Outcome::Linked(l) => {
                link::touch(&self.store, tenant, &l.upstream, &l.subject, now)?;
                let account = self.accounts.get(tenant, &l.account_id)?;
                self.proceed(tenant, browser, None, p, account, next).await
            }
            Outcome::Unknown { candidate } => {
                p.candidate = candidate.map(|m| (m.account_id, m.kind, m.value));
                let token = pending::start(&self.store, tenant, &p)?;
                self.store.commit().await?;
                Ok(FederatedStep::First { token })
            }
        }
    }

    /// The live pending federated sign-in behind the browser's cookie, if any.
    pub fn federated_pending(&self, tenant: &str, token: &str) -> Result<Option<FederatedSignIn>> {
        pending::get(&self.store, tenant, token, self.clock.now())
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
        self.federated_event(tenant, account_id, "federated_linked", origin, &identity.upstream)?;
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
        let passkeys = self.passkeys.count(tenant, account_id)?;
        self.accounts.unlink_federated(tenant, account_id, upstream, subject, passkeys)?;
        self.federated_event(tenant, account_id, "federated_unlinked", origin, upstream)?;
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
        let name = self.upstreams.get(tenant, upstream).map_or_else(|_| upstream.clone(), |u| u.display_name);
        self.accounts.link_federated(tenant, account_id, identity, &name, locale).await?;
        Ok(())
    }

    /// Records a federation event of the account, with its upstream.
    pub(super) fn federated_event(
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
        audit::record(&self.store, tenant, &event)
    }

    /// The sign-in reached `account`: unless the tenant still requires a contact the
    /// account lacks (then `Contact`, the pending sign-in kept under `token` or a new
    /// one), it goes on like any sign-in with the methods proven.
    pub(super) async fn proceed(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: Option<&str>,
        mut p: FederatedSignIn,
        account: Account,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let settings = self.settings(tenant)?;
        p.account_id = Some(account.id.clone());
        if pending::missing_contact(settings.federation.require_contact, &account).is_some() {
            let token = match token {
                Some(t) => {
                    pending::put(&self.store, tenant, t, &p)?;
                    t.to_string()
                }
                None => pending::start(&self.store, tenant, &p)?,
            };
            self.store.commit().await?;
            return Ok(FederatedStep::Contact { token });
        }
        if let Some(t) = token {
            pending::end(&self.store, tenant, t)?;
        }
        let methods: Vec<Method> = p
            .amr
            .iter()
            .filter_map(|a| match a.as_str() {
                "pwd" => Some(Method::Password),
                "fed" => Some(Method::Federated),
                _ => None,
            })
            .collect();
        let signed = self.accounts.signed_in(tenant, &settings, account, &methods)?;
        let flow = p.flow.as_deref();
        let step = self.after_first_factor(tenant, browser, flow, signed, next(tenant, flow)).await?;
        Ok(FederatedStep::Step(step))
    }
}
