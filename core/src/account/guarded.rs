//! Checking a secret inside the failure limits (R19, R20; NIST SP 800-63B §5.2.2):
//! the try is reserved before the check and settled after it, so parallel guesses
//! meet the same backoff, hourly cap and CAPTCHA as guesses one after another, and a
//! failure is durable before the answer says so. Every check of a password, a
//! second factor or a passkey goes through `Accounts::guarded`.

use std::future::Future;

use crate::account::Accounts;
use crate::account::signin::Attempt;
use crate::error::{Error, Result};
use crate::settings::TenantSettings;
use crate::signin::attempts::{Captcha, Outcome, Subject};

/// The limits one check answers to.
pub(crate) struct Guard<'a> {
    /// Whose failures the try counts against.
    pub who: Subject<'a>,
    /// Where it comes from (an empty IP counts against `who` only) and its CAPTCHA answer.
    pub attempt: Attempt<'a>,
    /// The try comes from a form that can show a CAPTCHA: the CAPTCHA gate applies.
    /// Elsewhere (a re-check inside a session, a second factor) only the waits and caps do.
    pub captcha: bool,
    /// Refusals and failures go to the audit trail as sign-in events (R19).
    pub audited: bool,
}

impl Accounts {
    /// Runs `check` (the verification of one secret; `Err` for a wrong one) inside
    /// the limits of `guard`: `rate_limited`, `captcha_required` or `captcha_failed`
    /// without running it, else its answer. A wrong secret counts as a failure, made
    /// durable before this returns; a right one clears the subject's failures; an
    /// internal error counts as nothing. `check` must do nothing until polled.
    pub(crate) async fn guarded<T>(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        guard: &Guard<'_>,
        check: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let rules = &settings.sign_in;
        let attempt = &guard.attempt;
        let answer = attempt.captcha.filter(|a| !a.is_empty());
        let captcha = match (guard.captcha, answer) {
            (false, _) => Captcha::NotAsked,
            (true, Some(_)) => Captcha::Answered,
            (true, None) => Captcha::Missing,
        };
        let ticket = match self.attempts.reserve(tenant, rules, &guard.who, attempt.ip, captcha).await {
            Err(e @ Error::RateLimited { .. }) => {
                if guard.audited {
                    attempt.audit(&self.store, tenant, self.clock.now(), &guard.who, "sign_in_throttled").await?;
                }
                return Err(e);
            }
            other => other?,
        };
        if ticket.captcha
            && let Err(e) = self.captchas.verify(tenant, answer.unwrap_or_default()).await
        {
            self.attempts.settle(tenant, rules, ticket, Outcome::Released).await?;
            if guard.audited {
                attempt.audit(&self.store, tenant, self.clock.now(), &guard.who, "captcha_failed").await?;
            }
            return Err(e);
        }
        let result = check.await;
        let outcome = match &result {
            Ok(_) => Outcome::Succeeded,
            Err(e) if e.is_internal() => Outcome::Released,
            Err(_) => Outcome::Failed,
        };
        self.attempts.settle(tenant, rules, ticket, outcome).await?;
        if outcome == Outcome::Failed {
            if guard.audited {
                attempt.audit(&self.store, tenant, self.clock.now(), &guard.who, "sign_in_failed").await?;
            }
            // The failure is what the refusal relies on (and what the next try meets).
            self.store.commit().await?;
        }
        result
    }
}
