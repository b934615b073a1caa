//! The first factor of a sign-in through `SignIns`: the password (R15) or an SMS
//! code (R16) for the authorization request read once ([`FlowFacts`]), then on to
//! the rest of the machine. A refused try answers `SignInStep::Failed` with the
//! CAPTCHA the next try must carry (R19).

use crate::account::signin::Attempt;
use crate::code::Sent;
use crate::credential::passkey::Rp;
use crate::error::{Error, Result};
use crate::grant::request::{self, Flow};
use crate::signin::service::{Browser, SignInStep, SignIns};

/// What a sign-in needs of the authorization request it serves, read once per step.
#[derive(Debug, Clone, Default)]
pub struct FlowFacts {
    /// The flow id.
    pub id: String,
    pub client_id: String,
    /// The app's `acr_values` (P4).
    pub acr_values: Option<String>,
    /// The app's `ui_locales`, for the page language.
    pub ui_locales: Option<String>,
    /// The app's `login_hint`, to fill in the identifier.
    pub login_hint: Option<String>,
}

impl FlowFacts {
    fn of(id: &str, flow: Flow) -> FlowFacts {
        let r = flow.request;
        FlowFacts {
            id: id.to_string(),
            client_id: r.client_id,
            acr_values: r.acr_values,
            ui_locales: r.ui_locales,
            login_hint: r.login_hint,
        }
    }
}

/// Whether `e` is a refused first-factor try the sign-in page tells the person about.
pub fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::BadCredentials
            | Error::SeveralAccounts(_)
            | Error::CodeInvalid
            | Error::CodeExpired
            | Error::CodeAttemptsExceeded
            | Error::RateLimited { .. }
            | Error::CaptchaRequired
            | Error::CaptchaFailed
            | Error::Invalid { .. }
    )
}

impl SignIns {
    /// The live authorization flow `id` of the tenant, if any (one read).
    pub async fn flow(&self, tenant: &str, id: Option<&str>) -> Option<FlowFacts> {
        let id = id?;
        let flow = request::load_flow(&self.store, tenant, id, self.clock.now()).await.ok().flatten()?;
        Some(FlowFacts::of(id, flow))
    }

    /// A password sign-in (R15) in `flow`, going to `next` once signed in. A refused
    /// try is `Failed`, with a CAPTCHA when the next try needs one (R19).
    #[allow(clippy::too_many_arguments)]
    pub async fn password(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        flow: Option<&FlowFacts>,
        identifier: &str,
        password: &str,
        captcha: Option<&str>,
        next: String,
    ) -> Result<SignInStep> {
        let settings = self.settings(tenant).await?;
        let ip = browser.origin.ip.as_str();
        let attempt = Attempt { ip, captcha, client: flow.map(|f| f.client_id.as_str()) };
        match self.accounts.sign_in(tenant, &settings, identifier, password, &attempt).await {
            Ok(signed) => self.continue_after(tenant, &settings, browser, flow, signed, next, None).await,
            Err(e) if !is_refusal(&e) => Err(e),
            Err(error) => {
                let captcha = match self.accounts.captcha_due(tenant, &settings, identifier, ip).await? {
                    true => Some(self.accounts.captchas().issue(tenant, settings.sign_in.captcha_difficulty).await?),
                    false => None,
                };
                Ok(SignInStep::Failed { error, captcha })
            }
        }
    }

    /// A sign-in with a mobile number and the code sent to it (R16).
    pub async fn code(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        flow: Option<&FlowFacts>,
        mobile: &str,
        code: &str,
        next: String,
    ) -> Result<SignInStep> {
        let settings = self.settings(tenant).await?;
        match self.accounts.sign_in_with_code(tenant, &settings, mobile, code).await {
            Ok(signed) => self.continue_after(tenant, &settings, browser, flow, signed, next, None).await,
            Err(e) if !is_refusal(&e) => Err(e),
            Err(error) => Ok(SignInStep::Failed { error, captcha: None }),
        }
    }

    /// Starts a passkey sign-in for `identifier` (the ceremony id and the browser's
    /// options), durably.
    pub async fn start_passkey_sign_in(
        &self,
        tenant: &str,
        rp: &Rp,
        identifier: &str,
    ) -> Result<(String, serde_json::Value)> {
        let started = self.accounts.start_passkey_sign_in(tenant, &self.passkeys, rp, identifier).await?;
        self.store.commit().await?;
        Ok(started)
    }

    /// A passkey sign-in (the browser's assertion for `ceremony`) in `flow`; a
    /// refused passkey is the error.
    #[allow(clippy::too_many_arguments)]
    pub async fn passkey(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        flow: Option<&FlowFacts>,
        rp: &Rp,
        ceremony: &str,
        credential: serde_json::Value,
        next: String,
    ) -> Result<SignInStep> {
        let settings = self.settings(tenant).await?;
        let attempt = Attempt { ip: &browser.origin.ip, ..Attempt::default() };
        let signed = self
            .accounts
            .sign_in_with_passkey(tenant, &settings, &self.passkeys, rp, ceremony, credential, &attempt)
            .await?;
        self.continue_after(tenant, &settings, browser, flow, signed, next, None).await
    }

    /// Sends a sign-in code to a mobile number (R16; the same answer whether or not
    /// it has an account).
    pub async fn send_code_to(&self, tenant: &str, mobile: &str, ip: &str, locale: &str) -> Result<Sent> {
        let settings = self.settings(tenant).await?;
        self.accounts.send_sign_in_code(tenant, &settings, mobile, ip, locale).await
    }
}
