//! The second step of a sign-in (R20): the CAPTCHA a plugin asked for (R19), then
//! a second factor, on the pending sign-in the browser holds. A wrong answer counts
//! against the pending sign-in (it ends after five) and is durable, with its audit
//! event, before the answer is returned.

use serde_json::json;

use crate::account::Account;
use crate::account::Kind;
use crate::account::second_factor::{Factor, Factors};
use crate::code::Sent;
use crate::credential::passkey::Rp;
use crate::error::{Error, Result};
use crate::signin::level::{self, Method};
use crate::signin::pending::{self, PendingSignIn};
use crate::signin::service::{Browser, Completed, Finished, SignIns};

/// What an answer on the second step leads to.
#[derive(Debug)]
pub enum Answered {
    /// Nothing left to prove: signed in.
    SignedIn(Completed),
    /// The page again, for what is still owed; with the refusal when the answer was wrong.
    Again { pending: Box<PendingSignIn>, account: Box<Account>, error: Option<Error> },
    /// The pending sign-in is gone (too many wrong answers).
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
    /// The live pending sign-in behind the browser's token, with its account.
    pub fn pending(&self, tenant: &str, token: &str) -> Result<Option<(PendingSignIn, Account)>> {
        let Some(p) = pending::get(&self.store, tenant, token, self.clock.now())? else { return Ok(None) };
        let account = self.accounts.get(tenant, &p.account_id)?;
        Ok(Some((p, account)))
    }

    /// Checks the CAPTCHA the pending sign-in owes (`p`, read by [`SignIns::pending`]).
    pub async fn solve_captcha(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: &str,
        p: PendingSignIn,
        account: Account,
        answer: &str,
    ) -> Result<Answered> {
        match self.accounts.captchas().verify(tenant, answer) {
            Ok(()) => {
                let p = pending::modify(&self.store, tenant, token, self.clock.now(), |p| p.owes_captcha = false)?;
                if p.owes_second_factor {
                    self.store.commit().await?;
                    return Ok(Answered::Again { pending: Box::new(p), account: Box::new(account), error: None });
                }
                self.done(tenant, browser, token, p, account, false).await.map(Answered::SignedIn)
            }
            Err(e) => {
                self.record(tenant, &account.id, "captcha_failed", browser.origin, None, json!({}))?;
                self.store.commit().await?;
                Ok(Answered::Again { pending: Box::new(p), account: Box::new(account), error: Some(e) })
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
        token: &str,
        mut p: PendingSignIn,
        account: Account,
        factor: Factor,
        code: &str,
        remember: bool,
    ) -> Result<Answered> {
        let settings = self.settings(tenant)?;
        let factors = Factors { totps: &self.totps, recovery_codes: &self.recovery_codes };
        let ip = browser.origin.ip.as_str();
        let answered =
            self.accounts.answer_second_factor(tenant, &settings, &account, factors, factor, code, ip, browser.locale);
        let detail = json!({ "method": factor.as_str() });
        match answered.await {
            Err(e @ Error::RateLimited { .. }) => {
                Ok(Answered::Again { pending: Box::new(p), account: Box::new(account), error: Some(e) })
            }
            Ok(method) => {
                self.record(tenant, &account.id, "second_factor_passed", browser.origin, None, detail)?;
                if factor == Factor::RecoveryCode {
                    self.record(tenant, &account.id, "recovery_code_used", browser.origin, None, json!({}))?;
                }
                p.amr = level::with(&p.amr, method);
                p.owes_second_factor = false;
                self.done(tenant, browser, token, p, account, remember).await.map(Answered::SignedIn)
            }
            Err(e) if !is_refusal(&e) => Err(e),
            Err(e) => {
                self.record(tenant, &account.id, "second_factor_failed", browser.origin, None, detail)?;
                let alive = pending::wrong_answer(&self.store, tenant, token, self.clock.now())?;
                self.store.commit().await?;
                if !alive {
                    return Ok(Answered::Expired);
                }
                Ok(Answered::Again { pending: Box::new(p), account: Box::new(account), error: Some(e) })
            }
        }
    }

    /// Starts a passkey ceremony for the pending sign-in's account; returns its id and
    /// the browser's options.
    pub async fn start_passkey(&self, tenant: &str, rp: &Rp, account_id: &str) -> Result<(String, serde_json::Value)> {
        let started = self.passkeys.start_authentication(tenant, rp, account_id)?;
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
        token: &str,
        mut p: PendingSignIn,
        account: Account,
        rp: &Rp,
        ceremony: &str,
        credential: serde_json::Value,
        remember: bool,
    ) -> Result<Completed> {
        let settings = self.settings(tenant)?;
        let ip = browser.origin.ip.as_str();
        let verified = self
            .accounts
            .answer_passkey_factor(tenant, &settings, &account, &self.passkeys, rp, ceremony, credential, ip)
            .await;
        let detail = json!({ "method": "passkey" });
        match verified {
            Err(e @ Error::RateLimited { .. }) => Err(e),
            Ok(()) => {
                self.record(tenant, &account.id, "second_factor_passed", browser.origin, None, detail)?;
                p.amr = level::with(&p.amr, Method::Passkey);
                p.owes_second_factor = false;
                self.done(tenant, browser, token, p, account, remember).await
            }
            Err(e) => {
                self.record(tenant, &account.id, "second_factor_failed", browser.origin, None, detail)?;
                pending::wrong_answer(&self.store, tenant, token, self.clock.now())?;
                self.store.commit().await?;
                Err(e)
            }
        }
    }

    /// Sends a second-factor code to the account's verified mobile or email (R37 limits).
    pub async fn send_code(&self, tenant: &str, account: &Account, kind: Kind, ip: &str, locale: &str) -> Result<Sent> {
        let settings = self.settings(tenant)?;
        self.accounts.send_second_factor_code(tenant, &settings, account, kind, ip, locale).await
    }

    /// Ends the pending sign-in and starts the session.
    async fn done(
        &self,
        tenant: &str,
        browser: Browser<'_>,
        token: &str,
        p: PendingSignIn,
        account: Account,
        remember: bool,
    ) -> Result<Completed> {
        pending::end(&self.store, tenant, token)?;
        self.finish(tenant, browser, Finished::from_pending(account, p, remember)).await
    }
}
