//! The first sign-in with an upstream subject, step by step (R17): create an
//! account (if the upstream allows it), or link an existing account after proving
//! it is yours (its password, or a code to the email or mobile the upstream
//! verified); then, if the tenant requires a mobile or email the account lacks, add
//! it with a code. Each step takes the browser's pending federated sign-in (its
//! cookie `token` and the record `federated_pending` read), is durable before it
//! returns, and ends in `proceed` or a [`FederatedStep`] the page shows.

use crate::account::Kind;
use crate::account::channels::{CodeTarget, default_channel};
use crate::account::password::Proof;
use crate::account::signin::Attempt;
use crate::error::Result;
use crate::federation::pending::FederatedSignIn;
use crate::signin::federated::{FederatedStep, NextPath};
use crate::signin::{Browser, SignIns};

impl SignIns {
    /// Creates an account for the pending subject (if its upstream creates
    /// accounts and none is reached yet), audited, and signs in to it.
    pub async fn federated_create(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: &str,
        p: FederatedSignIn,
        next: NextPath,
    ) -> Result<FederatedStep> {
        if p.account_id.is_some() || !self.upstreams.get(tenant, &p.identity.upstream)?.create_accounts {
            return Ok(FederatedStep::NoCreate);
        }
        let account = self.accounts.create_federated(tenant, &p.identity)?;
        self.federated_event(tenant, &account.id, "federated_account_created", browser.origin, &p.identity.upstream)?;
        self.proceed(tenant, browser, Some(token), p, account, next).await
    }

    /// Links the pending subject to the account `identifier` and `password` sign
    /// in to (a failed try counts like any failed sign-in, R19), then signs in with
    /// both methods proven.
    pub async fn federated_link_by_password(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: &str,
        mut p: FederatedSignIn,
        (identifier, password): (&str, &str),
        next: NextPath,
    ) -> Result<FederatedStep> {
        let settings = self.settings(tenant)?;
        let attempt = Attempt { ip: &browser.origin.ip, captcha: None, client: None };
        let signed = match self.accounts.sign_in(tenant, &settings, identifier, password, &attempt).await {
            Ok(s) => s,
            Err(e) => return self.refused(e).await,
        };
        self.linked(tenant, browser, &p, &signed.account.id).await?;
        p.amr.push("pwd".into());
        self.proceed(tenant, browser, Some(token), p, signed.account, next).await
    }

    /// Sends a code to the candidate account's address the upstream verified.
    pub async fn federated_send_link_code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: &FederatedSignIn,
    ) -> Result<FederatedStep> {
        let Some((account_id, _, value)) = &p.candidate else { return Ok(FederatedStep::NoCandidate) };
        let settings = self.settings(tenant)?;
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
        token: &str,
        p: FederatedSignIn,
        code: &str,
        next: NextPath,
    ) -> Result<FederatedStep> {
        let Some((account_id, _, value)) = p.candidate.clone() else { return Ok(FederatedStep::NoCandidate) };
        let settings = self.settings(tenant)?;
        let account = self.accounts.get(tenant, &account_id)?;
        if let Err(e) = self.accounts.prove(tenant, &settings, &account, Proof::Code { address: &value, code }).await {
            return self.refused(e).await;
        }
        self.linked(tenant, browser, &p, &account_id).await?;
        self.proceed(tenant, browser, Some(token), p, account, next).await
    }

    /// Sends a code to the new mobile or email (`kind`, `value`) the account must add.
    pub async fn federated_send_contact_code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        p: &FederatedSignIn,
        (kind, value): (&str, &str),
    ) -> Result<FederatedStep> {
        let (Some(account_id), Some(kind)) = (p.account_id.as_deref(), Kind::from_name(kind)) else {
            return Ok(FederatedStep::Expired);
        };
        let settings = self.settings(tenant)?;
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
        token: &str,
        p: FederatedSignIn,
        (kind, value, code): (&str, &str, &str),
        next: NextPath,
    ) -> Result<FederatedStep> {
        let (Some(account_id), Some(kind)) = (p.account_id.clone(), Kind::from_name(kind)) else {
            return Ok(FederatedStep::Expired);
        };
        let settings = self.settings(tenant)?;
        let changed =
            self.accounts.add_first_contact(tenant, &settings, &account_id, kind, value, code, browser.locale);
        match changed.await {
            Ok(account) => self.proceed(tenant, browser, Some(token), p, account, next).await,
            Err(e) => self.refused(e).await,
        }
    }

    /// Links the pending identity to `account_id` (its contacts are told), audited.
    async fn linked(&self, tenant: &str, browser: Browser<'_>, p: &FederatedSignIn, account_id: &str) -> Result<()> {
        self.link_and_tell(tenant, account_id, &p.identity, browser.locale).await?;
        self.federated_event(tenant, account_id, "federated_linked", browser.origin, &p.identity.upstream)
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
