//! The first sign-in with an upstream subject, step by step (R17): create an
//! account (if the upstream allows it), or link an existing account after proving
//! it is yours (its password, or a code to the email or mobile the upstream
//! verified); then, if the tenant requires a mobile or email the account lacks, add
//! it with a code. Each step takes the browser's [`FederatedPending`] (what
//! `federated_pending` read behind its cookie), is durable before it returns, and
//! ends in `proceed` or a [`FederatedStep`] the page shows.

use crate::account::Kind;
use crate::account::channels::{CodeTarget, default_channel};
use crate::account::password::Proof;
use crate::account::signin::Attempt;
use crate::error::Result;
use crate::federation::UpstreamIdentity;
use crate::signin::federated::{FederatedPending, FederatedStep, NextPath};
use crate::signin::journey::State;
use crate::signin::{Browser, SignIns};

impl SignIns {
    /// Creates an account for the pending subject (if its upstream creates
    /// accounts and none is reached yet), audited, and signs in to it.
    pub async fn federated_create(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: FederatedPending,
        next: NextPath,
    ) -> Result<FederatedStep> {
        if p.journey.account_id.is_some() || !self.upstreams.get(tenant, &p.identity.upstream).await?.create_accounts {
            return Ok(FederatedStep::NoCreate);
        }
        let account = self.accounts.create_federated(tenant, &p.identity).await?;
        self.federated_event(tenant, &account.id, "federated_account_created", browser.origin, &p.identity.upstream)
            .await?;
        self.go_on(tenant, browser, p, account, next).await
    }

    /// Links the pending subject to the account `identifier` and `password` sign
    /// in to (a failed try counts like any failed sign-in, R19), then signs in with
    /// both methods proven.
    pub async fn federated_link_by_password(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        mut p: FederatedPending,
        (identifier, password): (&str, &str),
        next: NextPath,
    ) -> Result<FederatedStep> {
        let settings = self.settings(tenant).await?;
        let attempt = Attempt { ip: &browser.origin.ip, captcha: None, client: None };
        let signed = match self.accounts.sign_in(tenant, &settings, identifier, password, &attempt).await {
            Ok(s) => s,
            Err(e) => return self.refused(e).await,
        };
        self.linked(tenant, browser, &p.identity, &signed.account.id).await?;
        p.journey.amr.push("pwd".into());
        self.go_on(tenant, browser, p, signed.account, next).await
    }

    /// Sends a code to the candidate account's address the upstream verified.
    pub async fn federated_send_link_code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: &FederatedPending,
    ) -> Result<FederatedStep> {
        let State::ChoosingAccount { candidate: Some((account_id, _, value)), .. } = &p.journey.state else {
            return Ok(FederatedStep::NoCandidate);
        };
        let settings = self.settings(tenant).await?;
        let ip = &browser.origin.ip;
        let sent = self.accounts.send_identity_code(tenant, &settings, account_id, value, ip, browser.locale).await;
        self.sent(sent.map(|_| ())).await
    }

    /// Links the pending subject to the candidate account once the code sent to it
    /// is right, then signs in.
    pub async fn federated_link_by_code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: FederatedPending,
        code: &str,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let State::ChoosingAccount { candidate: Some((account_id, _, value)), .. } = p.journey.state.clone() else {
            return Ok(FederatedStep::NoCandidate);
        };
        let settings = self.settings(tenant).await?;
        let account = self.accounts.get(tenant, &account_id).await?;
        if let Err(e) = self.accounts.prove(tenant, &settings, &account, Proof::Code { address: &value, code }).await {
            return self.refused(e).await;
        }
        self.linked(tenant, browser, &p.identity, &account_id).await?;
        self.go_on(tenant, browser, p, account, next).await
    }

    /// Sends a code to the new mobile or email (`kind`, `value`) the account must add.
    pub async fn federated_send_contact_code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: &FederatedPending,
        (kind, value): (&str, &str),
    ) -> Result<FederatedStep> {
        let (Some(account_id), Some(kind)) = (p.journey.account_id.as_deref(), Kind::from_name(kind)) else {
            return Ok(FederatedStep::Expired);
        };
        let settings = self.settings(tenant).await?;
        let target = CodeTarget::New(value.to_string());
        let (ip, locale) = (&browser.origin.ip, browser.locale);
        let sent = self
            .accounts
            .send_channel_code(tenant, &settings, account_id, kind, target, default_channel(kind), ip, locale)
            .await;
        self.sent(sent.map(|_| ())).await
    }

    /// Adds the mobile or email the tenant requires once its code is right, then
    /// signs in.
    pub async fn federated_add_contact(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: FederatedPending,
        (kind, value, code): (&str, &str, &str),
        next: NextPath,
    ) -> Result<FederatedStep> {
        let (Some(account_id), Some(kind)) = (p.journey.account_id.clone(), Kind::from_name(kind)) else {
            return Ok(FederatedStep::Expired);
        };
        let settings = self.settings(tenant).await?;
        let changed =
            self.accounts.add_first_contact(tenant, &settings, &account_id, kind, value, code, browser.locale);
        match changed.await {
            Ok(account) => self.go_on(tenant, browser, p, account, next).await,
            Err(e) => self.refused(e).await,
        }
    }

    /// Links the pending `identity` to `account_id` (its contacts are told), audited.
    async fn linked(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        identity: &UpstreamIdentity,
        account_id: &str,
    ) -> Result<()> {
        self.link_and_tell(tenant, account_id, identity, browser.locale).await?;
        self.federated_event(tenant, account_id, "federated_linked", browser.origin, &identity.upstream).await
    }

    /// `proceed` with the browser's journey.
    async fn go_on(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: FederatedPending,
        account: crate::account::Account,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let FederatedPending { token, journey, identity } = p;
        self.proceed(tenant, browser, Some(&token), journey, &identity, account, next).await
    }

    /// A failed step, with what it counted (a wrong try) made durable first.
    async fn refused(&self, e: crate::error::Error) -> Result<FederatedStep> {
        self.store.commit().await?;
        Ok(FederatedStep::Refused(e))
    }

    /// The answer to a code sent (or refused), durably.
    async fn sent(&self, sent: Result<()>) -> Result<FederatedStep> {
        match sent {
            Ok(()) => {
                self.store.commit().await?;
                Ok(FederatedStep::Sent)
            }
            Err(e) => self.refused(e).await,
        }
    }
}
