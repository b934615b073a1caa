//! The second step of a sign-in (R20): the CAPTCHA a plugin asked for (R19), then
//! a second factor, on the journey the browser holds. The edge sees a
//! [`SecondStep`] (what the page shows), never the record. A wrong answer counts
//! against the journey (it ends after five) in one write with its audit event,
//! durable before the answer is returned.

use serde_json::json;

use crate::account::Account;
use crate::account::Kind;
use crate::account::second_factor::{Factor, Factors, available};
use crate::code::Sent;
use crate::credential::passkey::Rp;
use crate::error::{Error, Resource, Result};
use crate::signin::journey::{self, Journey, State};
use crate::signin::level::{self, Method};
use crate::signin::service::{Browser, Completed, Finished, STEP_TREES, SignIns};

/// A sign-in that owes a CAPTCHA or a second factor, as the second-step page sees
/// it; the edge hands it back to answer. The journey inside is core's.
#[derive(Debug, Clone)]
pub struct SecondStep {
    token: String,
    journey: Journey,
    /// The account signing in.
    pub account: Account,
    /// The second factors the account can give now, best first.
    pub methods: Vec<Factor>,
}

impl SecondStep {
    /// A CAPTCHA comes first (R19, W1).
    pub fn owes_captcha(&self) -> bool {
        matches!(self.journey.state, State::OwesCaptcha { .. })
    }

    /// The person may tick "remember this device" (R20).
    pub fn may_remember(&self) -> bool {
        self.journey.offer().is_some_and(|o| o.may_remember)
    }

    /// `captcha_required` while the CAPTCHA is owed: no second factor is asked,
    /// sent or checked before it is solved (R19, W1).
    fn captcha_first(&self) -> Result<()> {
        if self.owes_captcha() { Err(Error::CaptchaRequired) } else { Ok(()) }
    }
}

/// What an answer on the second step leads to.
#[derive(Debug)]
pub enum Answered {
    /// Nothing left to prove: signed in.
    SignedIn(Completed),
    /// The page again, for what is still owed; with the refusal when the answer was wrong.
    Again { step: Box<SecondStep>, error: Option<Error> },
    /// The journey is gone (too many wrong answers).
    Expired,
}

/// Whether `e` is a refused answer the page tells the person about (not a fault).
pub fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::CodeInvalid
            | Error::CodeExpired
            | Error::CodeAttemptsExceeded
            | Error::PasskeyRejected
            | Error::NotFound(_)
            | Error::RateLimited { .. }
            | Error::CaptchaRequired
            | Error::CaptchaFailed
            | Error::Delivery(_)
    )
}

impl SignIns {
    /// The live journey behind the browser's token when it owes a CAPTCHA or a
    /// second factor, with its account.
    pub async fn pending(&self, tenant: &str, token: &str) -> Result<Option<SecondStep>> {
        let Some(j) = journey::get(&self.store, tenant, token, self.clock.now()).await? else { return Ok(None) };
        if !j.owes_a_step() {
            return Ok(None);
        }
        let account = self.accounts.get(tenant, j.account()?).await?;
        self.second_step(tenant, token, j, account).await.map(Some)
    }

    /// The page's view of journey `j` behind `token`.
    async fn second_step(&self, tenant: &str, token: &str, j: Journey, account: Account) -> Result<SecondStep> {
        let methods = available(&account, &self.enrolled(tenant, &account.id).await?, &j.amr);
        Ok(SecondStep { token: token.to_string(), journey: j, account, methods })
    }

    /// Checks the CAPTCHA the journey owes (`step`, read by [`SignIns::pending`]);
    /// a solved one moves the journey on to its second factor (one write) or signs in.
    pub async fn solve_captcha(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        step: SecondStep,
        answer: &str,
    ) -> Result<Answered> {
        let SecondStep { token, journey: j, account, .. } = step;
        match self.accounts.captchas().verify(tenant, answer).await {
            Ok(()) => match j.state {
                State::OwesCaptcha { then: Some(offer), password_expired } => {
                    let to = State::OwesSecondFactor { offer, password_expired };
                    let moved = self.move_to(tenant, &token, to).await?;
                    self.store.commit().await?;
                    let step = self.second_step(tenant, &token, moved, account).await?;
                    Ok(Answered::Again { step: Box::new(step), error: None })
                }
                _ => self.done(tenant, browser, &token, j, account, false).await.map(Answered::SignedIn),
            },
            Err(e) => {
                self.record(tenant, &account.id, "captcha_failed", browser.origin, None, json!({})).await?;
                self.store.commit().await?;
                let step = self.second_step(tenant, &token, j, account).await?;
                Ok(Answered::Again { step: Box::new(step), error: Some(e) })
            }
        }
    }

    /// Checks a typed second factor (`code` for `factor`) inside the account's
    /// failure limits; `remember` where the pending sign-in offers it.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_factor(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        step: SecondStep,
        factor: Factor,
        code: &str,
        remember: bool,
    ) -> Result<Answered> {
        step.captcha_first()?;
        let SecondStep { token, journey: mut j, account, .. } = step;
        let settings = self.settings(tenant).await?;
        let factors = Factors { totps: &self.totps, recovery_codes: &self.recovery_codes };
        let ip = browser.origin.ip.as_str();
        let answered =
            self.accounts.answer_second_factor(tenant, &settings, &account, factors, factor, code, ip, browser.locale);
        let detail = json!({ "method": factor.as_str() });
        match answered.await {
            Err(e @ Error::RateLimited { .. }) => {
                let step = self.second_step(tenant, &token, j, account).await?;
                Ok(Answered::Again { step: Box::new(step), error: Some(e) })
            }
            Ok(method) => {
                self.record(tenant, &account.id, "second_factor_passed", browser.origin, None, detail).await?;
                if factor == Factor::RecoveryCode {
                    self.record(tenant, &account.id, "recovery_code_used", browser.origin, None, json!({})).await?;
                }
                j.amr = level::with(&j.amr, method);
                self.done(tenant, browser, &token, j, account, remember).await.map(Answered::SignedIn)
            }
            Err(e) if !is_refusal(&e) => Err(e),
            Err(e) => {
                let event = self.event(&account.id, "second_factor_failed", browser.origin, None, detail);
                if !self.wrong_answer(tenant, &token, &event).await? {
                    return Ok(Answered::Expired);
                }
                let step = self.second_step(tenant, &token, j, account).await?;
                Ok(Answered::Again { step: Box::new(step), error: Some(e) })
            }
        }
    }

    /// Starts a passkey ceremony for the journey's account; returns its id and the
    /// browser's options.
    pub async fn start_passkey(&self, tenant: &str, rp: &Rp, step: &SecondStep) -> Result<(String, serde_json::Value)> {
        step.captcha_first()?;
        let started = self.passkeys.start_authentication(tenant, rp, &step.account.id).await?;
        self.store.commit().await?;
        Ok(started)
    }

    /// Checks a passkey given as the second factor; a wrong one counts as a wrong
    /// answer (durably) and is returned as the error.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_passkey(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        step: SecondStep,
        rp: &Rp,
        ceremony: &str,
        credential: serde_json::Value,
        remember: bool,
    ) -> Result<Completed> {
        step.captcha_first()?;
        let SecondStep { token, journey: mut j, account, .. } = step;
        let settings = self.settings(tenant).await?;
        let ip = browser.origin.ip.as_str();
        let verified = self
            .accounts
            .answer_passkey_factor(tenant, &settings, &account, &self.passkeys, rp, ceremony, credential, ip)
            .await;
        let detail = json!({ "method": "passkey" });
        match verified {
            Err(e @ Error::RateLimited { .. }) => Err(e),
            Ok(()) => {
                self.record(tenant, &account.id, "second_factor_passed", browser.origin, None, detail).await?;
                j.amr = level::with(&j.amr, Method::Passkey);
                self.done(tenant, browser, &token, j, account, remember).await
            }
            Err(e) => {
                let event = self.event(&account.id, "second_factor_failed", browser.origin, None, detail);
                self.wrong_answer(tenant, &token, &event).await?;
                Err(e)
            }
        }
    }

    /// Sends a second-factor code to the account's verified mobile or email (R37 limits).
    pub async fn send_code(&self, tenant: &str, step: &SecondStep, kind: Kind, ip: &str, locale: &str) -> Result<Sent> {
        step.captcha_first()?;
        let settings = self.settings(tenant).await?;
        self.accounts.send_second_factor_code(tenant, &settings, &step.account, kind, ip, locale).await
    }

    /// Counts a wrong answer on the journey behind `token` with its audit `event`,
    /// in one write, durably; returns whether the journey is still alive.
    async fn wrong_answer(&self, tenant: &str, token: &str, event: &crate::audit::AuditEvent) -> Result<bool> {
        let now = self.clock.now();
        let id = crate::audit::new_id(event);
        let alive = self
            .store
            .transaction(STEP_TREES, async |tx| {
                crate::audit::record_in(tx, tenant, &id, event).await?;
                journey::wrong_answer_in(tx, tenant, token, now).await
            })
            .await?;
        self.store.commit().await?;
        Ok(alive)
    }

    /// Moves the live journey behind `token` to state `to` (one write); `not_found`
    /// if it is gone. The caller commits.
    async fn move_to(&self, tenant: &str, token: &str, to: State) -> Result<Journey> {
        let now = self.clock.now();
        crate::token_record::update::<Journey, _>(&self.store, tenant, token, |old| {
            let mut j = old.filter(|j| j.expires_at > now).ok_or(Error::NotFound(Resource::SignIn))?;
            j.state = to.clone();
            Ok((Some(j.clone()), j))
        })
        .await
    }

    /// Starts the session, ending the journey in the same transaction.
    async fn done(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: &str,
        j: Journey,
        account: Account,
        remember: bool,
    ) -> Result<Completed> {
        self.finish(tenant, browser, Finished::of_journey(account, token, j, remember)).await
    }
}
