//! The sign-in service (`SignIns`): after a first factor it runs the tenant's
//! sign-in hook and the second-factor rule (R20, W1), stores what the sign-in still
//! owes, and once nothing is owed starts the session (ending the browser's old one),
//! marks the authorization flow signed in (R18), remembers the device, audits and
//! notes the device, all in one transaction that also ends the journey; then it
//! sends a new-device notice (R38) and takes the account's notices (R9). Each
//! step is one write, durable before it returns; it answers a [`SignInStep`] the
//! edge renders.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::account::second_factor::{Enrolled, available};
use crate::account::signin::SignedIn;
use crate::account::{Account, Accounts};
use crate::audit::{self, AuditEvent};
use crate::captcha::Challenge;
use crate::clock::Clock;
use crate::code::Notice;
use crate::credential::passkey::Passkeys;
use crate::credential::recovery_codes::RecoveryCodes;
use crate::credential::totp::Totps;
use crate::error::{Error, Result};
use crate::federation::upstream::Upstreams;
use crate::grant::request::{self, Flow};
use crate::policy::{Facts, PolicyHost, SignInInput};
use crate::seal::Sealer;
use crate::secret;
use crate::session::{self, AccountSession, Origin, Session, Sessions};
use crate::settings::TenantSettings;
use crate::signin::first_factor::FlowFacts;
use crate::signin::journey::{self, Journey, Offer, State};
use crate::signin::remembered::RememberedDevice;
use crate::signin::rule::{self, Outcome};
use crate::signin::{Need, level, remembered};
use crate::store::{Record, Store};
use crate::tenant::Tenants;

/// The browser's side of a sign-in step: where it comes from and the cookies it holds.
#[derive(Debug, Clone, Copy)]
pub struct Browser<'a> {
    pub origin: &'a Origin,
    /// The device cookie (R38), if any.
    pub device: Option<&'a str>,
    /// The "remember this device" cookie (R20), if any.
    pub remember: Option<&'a str>,
    /// The session cookie the browser holds in the tenant, if any (ended on sign-in).
    pub session: Option<&'a str>,
    /// The page language, for notices.
    pub locale: &'a str,
}

impl Browser<'_> {
    /// The device cookie when it has the shape this server gives.
    fn device(&self) -> Option<&str> {
        self.device.filter(|d| d.len() == 43)
    }
}

/// What a sign-in step answers; the edge renders it.
#[derive(Debug)]
pub enum SignInStep {
    /// A tenant plugin refused (W1): 403 with its message.
    Denied { reason: String, message: String },
    /// A second factor is required and the account has none (R20).
    NoSecondFactor,
    /// The sign-in owes a CAPTCHA or a second factor: the browser keeps `token`
    /// (its journey) and goes to the page that collects it.
    Owes { token: String },
    /// Signed in.
    SignedIn(Completed),
    /// The first factor was refused (`error`); the next try must solve `captcha` if given (R19).
    Failed { error: Error, captcha: Option<Challenge> },
}

/// A started session and what to tell the browser.
#[derive(Debug)]
pub struct Completed {
    /// The session cookie value.
    pub session_cookie: String,
    /// A new device cookie to set (the browser had none).
    pub device_cookie: Option<String>,
    /// A "remember this device" cookie and its age in seconds.
    pub remember: Option<(String, u64)>,
    /// Where to go once the page (if any) is read.
    pub next: String,
    /// Notices to show before going on (R9).
    pub notices: Vec<Notice>,
    /// The password is older than the tenant allows: suggest a change (R4).
    pub password_expired: bool,
}

/// A sign-in with nothing left to prove.
#[derive(Debug, Clone)]
pub struct Finished {
    pub account: Account,
    pub amr: Vec<String>,
    pub password_expired: bool,
    pub flow: Option<String>,
    pub next: String,
    /// Remember this device for the second factor (R20).
    pub remember: bool,
    /// The browser's journey token this sign-in ends with the session start, if any.
    pub journey: Option<String>,
}

impl Finished {
    /// The finished form of the journey behind `token`; `remember` only where it was offered.
    pub(super) fn of_journey(account: Account, token: &str, j: Journey, remember: bool) -> Finished {
        Finished {
            account,
            password_expired: j.password_expired(),
            remember: remember && j.offer().is_some_and(|o| o.may_remember),
            amr: j.amr,
            flow: j.flow,
            next: j.next,
            journey: Some(token.to_string()),
        }
    }
}

/// The trees a session start writes (see [`SignIns::start_session`]).
const START_TREES: &[&str] = &[
    Session::TREE,
    AccountSession::TREE,
    Flow::TREE,
    RememberedDevice::TREE,
    AuditEvent::TREE,
    Account::TREE,
    Journey::TREE,
];

/// The trees of a step that audits and moves a journey on.
pub(super) const STEP_TREES: &[&str] = &[AuditEvent::TREE, Journey::TREE];

/// The sign-in state machine.
pub struct SignIns {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) accounts: Arc<Accounts>,
    policy: Arc<PolicyHost>,
    sessions: Sessions,
    tenants: Tenants,
    pub(super) totps: Totps,
    pub(super) passkeys: Passkeys,
    pub(super) recovery_codes: RecoveryCodes,
    pub(super) upstreams: Upstreams,
}

impl SignIns {
    /// Builds the service over the same store as the others; `session_ttl` as for `Sessions`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        sealer: Arc<Sealer>,
        accounts: Arc<Accounts>,
        policy: Arc<PolicyHost>,
        session_ttl: u64,
    ) -> Self {
        SignIns {
            sessions: Sessions::new(store.clone(), clock.clone(), session_ttl),
            tenants: Tenants::new(store.clone(), clock.clone()),
            totps: Totps::new(store.clone(), clock.clone(), sealer.clone()),
            passkeys: Passkeys::new(store.clone(), clock.clone(), sealer.clone()),
            upstreams: Upstreams::new(store.clone(), sealer.clone()),
            recovery_codes: RecoveryCodes::new(store.clone(), clock.clone(), sealer),
            store,
            clock,
            accounts,
            policy,
        }
    }

    /// What the account has enrolled besides its mobile and email.
    pub(super) async fn enrolled(&self, tenant: &str, account_id: &str) -> Result<Enrolled> {
        Ok(Enrolled {
            totp: self.totps.status(tenant, account_id).await?.is_some_and(|s| s.confirmed),
            passkeys: self.passkeys.count(tenant, account_id).await?,
            recovery_codes: self.recovery_codes.remaining(tenant, account_id).await?,
        })
    }

    pub(super) async fn settings(&self, tenant: &str) -> Result<TenantSettings> {
        Ok(self.tenants.get(tenant).await?.settings)
    }

    /// Continues after a first factor for `signed`, in the authorization `flow` if
    /// any, going to `next` once signed in: the plugin hook, the second-factor rule,
    /// then the pending sign-in or the session.
    pub async fn after_first_factor(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        flow: Option<&str>,
        signed: SignedIn,
        next: String,
    ) -> Result<SignInStep> {
        let settings = self.settings(tenant).await?;
        let facts = self.flow_or_id(tenant, flow).await;
        self.continue_after(tenant, &settings, browser, facts.as_ref(), signed, next, None).await
    }

    /// The facts of flow `flow`; a flow id that no longer loads is still carried
    /// on (and marked if it comes back).
    pub(super) async fn flow_or_id(&self, tenant: &str, flow: Option<&str>) -> Option<FlowFacts> {
        match (self.flow(tenant, flow).await, flow) {
            (Some(f), _) => Some(f),
            (None, Some(id)) => Some(FlowFacts { id: id.to_string(), ..FlowFacts::default() }),
            (None, None) => None,
        }
    }

    /// `after_first_factor` for a flow already read and the tenant's settings;
    /// `ending` is the browser's journey this step ends in the same write (a
    /// federated sign-in going on), if any.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn continue_after(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        browser: Browser<'_>,
        flow: Option<&FlowFacts>,
        signed: SignedIn,
        next: String,
        ending: Option<&str>,
    ) -> Result<SignInStep> {
        let now = self.clock.now();
        let client_id = flow.map(|f| f.client_id.clone()).filter(|c| !c.is_empty());
        let account = &signed.account;
        let facts = Facts {
            client_id: client_id.clone(),
            ip: browser.origin.ip.clone(),
            user_agent: browser.origin.user_agent.clone(),
        };
        let input = SignInInput {
            account_id: account.id.clone(),
            method: signed.amr.first().cloned().unwrap_or_default(),
            new_device: browser.device().is_none_or(|d| !account.known_devices.contains(&secret::digest(d))),
        };
        let decision = self.policy.sign_in(tenant, &facts, &input).await;
        let remembered = match browser.remember {
            Some(t) => {
                remembered::is_remembered(&self.store, tenant, t, &account.id, account.security_epoch, now).await?
            }
            None => false,
        };
        let acr_values = flow.and_then(|f| f.acr_values.as_deref());
        let need = Need {
            two_step_on: account.two_step,
            tenant_requires: settings.sign_in.require_second_factor,
            plugin_requires: false,
            app_requires: level::wants_two_factors(acr_values),
            remembered,
            already_two: level::acr(&signed.amr) == "2",
        };
        let remember_allowed = settings.sign_in.remember_device_days > 0;
        let has_factor =
            async || Ok(!available(account, &self.enrolled(tenant, &account.id).await?, &signed.amr).is_empty());
        let outcome = rule::after_first_factor(decision, need, remember_allowed, has_factor).await?;
        let origin = browser.origin;
        match outcome {
            Outcome::Denied { reason, message } => {
                let detail = json!({ "reason": reason });
                let event = self.event(&account.id, "sign_in_denied", origin, client_id, detail);
                self.audit_and_end(tenant, &event, ending).await?;
                Ok(SignInStep::Denied { reason, message })
            }
            Outcome::NoSecondFactor => {
                let event = self.event(&account.id, "sign_in_no_second_factor", origin, client_id, json!({}));
                self.audit_and_end(tenant, &event, ending).await?;
                Ok(SignInStep::NoSecondFactor)
            }
            Outcome::Complete => {
                let done = Finished {
                    account: signed.account,
                    amr: signed.amr,
                    password_expired: signed.password_expired,
                    flow: flow.map(|f| f.id.clone()),
                    next,
                    remember: false,
                    journey: ending.map(str::to_string),
                };
                let completed = self.start_session(tenant, browser, done, client_id, settings).await?;
                Ok(SignInStep::SignedIn(completed))
            }
            Outcome::Owes { captcha, second_factor, may_remember } => {
                let offer = second_factor.then_some(Offer { may_remember });
                let password_expired = signed.password_expired;
                let state = match (captcha, offer) {
                    (false, Some(offer)) => State::OwesSecondFactor { offer, password_expired },
                    (_, then) => State::OwesCaptcha { then, password_expired },
                };
                let journey = Journey {
                    account_id: Some(account.id.clone()),
                    amr: signed.amr,
                    flow: flow.map(|f| f.id.clone()),
                    next,
                    failures: 0,
                    expires_at: now + journey::OWED_LIFETIME,
                    state,
                };
                Ok(SignInStep::Owes { token: self.owe(tenant, &journey, ending).await? })
            }
        }
    }

    /// Stores a new journey (ending the one behind `ending`, if any) in one
    /// transaction, durably; returns the browser's token for it.
    pub(super) async fn owe(&self, tenant: &str, j: &Journey, ending: Option<&str>) -> Result<String> {
        let token = secret::token();
        self.store
            .transaction(&[Journey::TREE], async |tx| {
                if let Some(old) = ending {
                    journey::end_in(tx, tenant, old).await?;
                }
                journey::put_in(tx, tenant, &token, j).await
            })
            .await?;
        self.store.commit().await?;
        Ok(token)
    }

    /// Records `event` and ends the journey behind `ending` (if any) in one
    /// transaction, durably.
    async fn audit_and_end(&self, tenant: &str, event: &AuditEvent, ending: Option<&str>) -> Result<()> {
        let id = audit::new_id(event);
        self.store
            .transaction(STEP_TREES, async |tx| {
                audit::record_in(tx, tenant, &id, event).await?;
                match ending {
                    Some(t) => journey::end_in(tx, tenant, t).await,
                    None => Ok(()),
                }
            })
            .await?;
        self.store.commit().await
    }

    /// Starts the session of a sign-in with nothing left to prove.
    pub async fn finish(&self, tenant: &str, browser: Browser<'_>, done: Finished) -> Result<Completed> {
        let now = self.clock.now();
        let settings = self.settings(tenant).await?;
        let flow = done.flow.as_deref();
        let client_id = match flow {
            Some(id) => {
                request::load_flow(&self.store, tenant, id, now).await.ok().flatten().map(|f| f.request.client_id)
            }
            None => None,
        };
        self.start_session(tenant, browser, done, client_id, &settings).await
    }

    pub(super) async fn start_session(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        done: Finished,
        client_id: Option<String>,
        settings: &TenantSettings,
    ) -> Result<Completed> {
        let now = self.clock.now();
        let existing_device = browser.device().map(str::to_string);
        let device = existing_device.clone().unwrap_or_else(secret::token);
        let device_digest = secret::digest(&device);
        let old = browser.session.filter(|c| c.len() <= 64);
        let account = &done.account;
        let (session_cookie, session) =
            self.sessions.prepare(&account.id, done.amr.clone(), browser.origin, &settings.sessions);
        let days = settings.sign_in.remember_device_days;
        let remember = done
            .remember
            .then(|| (secret::token(), remembered::remembered(&account.id, account.security_epoch, days, now)));
        let detail = json!({ "amr": done.amr, "acr": session.acr });
        let event = self.event(&account.id, "sign_in", browser.origin, client_id, detail);
        let event_id = audit::new_id(&event);
        // One transaction: a sign-in is all of these or none of them.
        let new_device = self
            .store
            .transaction(START_TREES, async |tx| {
                if let Some(old) = old {
                    session::end_live_in(tx, tenant, old, now).await?;
                }
                session::start_in(tx, tenant, &session_cookie, &session).await?;
                if let Some(id) = done.flow.as_deref() {
                    request::mark_signed_in_in(tx, tenant, id, &session.sid).await?;
                }
                if let Some((token, device)) = &remember {
                    remembered::remember_in(tx, tenant, token, device).await?;
                }
                audit::record_in(tx, tenant, &event_id, &event).await?;
                if let Some(t) = done.journey.as_deref() {
                    journey::end_in(tx, tenant, t).await?;
                }
                Accounts::note_device_in(tx, tenant, &account.id, &device_digest, now).await
            })
            .await?;
        self.store.commit().await?;
        let remember = remember.map(|(token, _)| (token, days * 24 * 3600));
        // R9: taken only now that the session has started, so a sign-in refused or
        // abandoned before this point leaves them on the account.
        let notices = self.accounts.take_notices(tenant, &account.id).await?;
        if new_device {
            let origin = browser.origin;
            let notice = Notice::NewDeviceSignIn { user_agent: origin.user_agent.clone(), ip: origin.ip.clone() };
            self.accounts.notify(tenant, account, notice, browser.locale).await;
        }
        Ok(Completed {
            session_cookie,
            device_cookie: if existing_device.is_none() { Some(device) } else { None },
            remember,
            next: done.next,
            notices,
            password_expired: done.password_expired,
        })
    }

    /// Records a security event of the sign-in (who, what, when, IP, client).
    pub(super) async fn record(
        &self,
        tenant: &str,
        account_id: &str,
        action: &str,
        origin: &Origin,
        client: Option<String>,
        detail: Value,
    ) -> Result<()> {
        audit::record(&self.store, tenant, &self.event(account_id, action, origin, client, detail)).await
    }

    /// A security event of the sign-in (who, what, now, IP, client), not recorded yet.
    pub(super) fn event(
        &self,
        account_id: &str,
        action: &str,
        origin: &Origin,
        client: Option<String>,
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor: account_id.to_string(),
            action: action.to_string(),
            subject: None,
            ip: Some(origin.ip.clone()),
            client,
            detail,
        }
    }
}
