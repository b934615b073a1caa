//! Second factors an account can give after its password (R20), codes sent as one,
//! and 2-step verification turned on or off (with a notice, R38).

use serde::{Deserialize, Serialize};

use crate::account::guarded::Guard;
use crate::account::password::destination;
use crate::account::signin::Attempt;
use crate::account::{Account, Accounts, Binding, Kind};
use crate::code::{Notice, Purpose, Sent};
use crate::credential::passkey::{Passkeys, Rp};
use crate::credential::recovery_codes::RecoveryCodes;
use crate::credential::totp::Totps;
use crate::error::{Error, Field, Refusal, Resource, Result};
use crate::settings::TenantSettings;
use crate::signin::attempts::Subject;
use crate::signin::level::Method;

/// A way to give the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Passkey,
    Totp,
    Sms,
    Email,
    RecoveryCode,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Passkey => "passkey",
            Factor::Totp => "totp",
            Factor::Sms => "sms",
            Factor::Email => "email",
            Factor::RecoveryCode => "recovery_code",
        }
    }

    pub fn parse(s: &str) -> Option<Factor> {
        [Factor::Passkey, Factor::Totp, Factor::Sms, Factor::Email, Factor::RecoveryCode]
            .into_iter()
            .find(|f| f.as_str() == s)
    }

    /// The mobile or email a code factor goes to.
    pub fn channel(self) -> Option<Kind> {
        match self {
            Factor::Sms => Some(Kind::Mobile),
            Factor::Email => Some(Kind::Email),
            _ => None,
        }
    }
}

/// What the account has set up besides its mobile and email.
#[derive(Debug, Clone, Copy, Default)]
pub struct Enrolled {
    pub totp: bool,
    pub passkeys: usize,
    pub recovery_codes: usize,
}

impl Account {
    /// The verified mobile or email that receives second-factor codes.
    pub fn code_channel(&self, kind: Kind) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.kind == kind && b.verified && (b.roles.login || b.roles.recovery))
    }
}

/// The limits of a second-step answer: the account's and the IP's; no CAPTCHA (the
/// second step asks for one only when a plugin does), audited by the caller.
fn second_step<'a>(account: &'a Account, ip: &'a str) -> Guard<'a> {
    let attempt = Attempt { ip, ..Attempt::default() };
    Guard { who: Subject::Account(&account.id), attempt, captcha: false, audited: false }
}

/// The factors the person may use, strongest first. A factor already given (an SMS
/// sign-in code) does not count twice.
pub fn available(account: &Account, enrolled: &Enrolled, amr: &[String]) -> Vec<Factor> {
    let given = |v: &str| amr.iter().any(|a| a == v);
    let mut out = Vec::new();
    if enrolled.passkeys > 0 && !given("hwk") {
        out.push(Factor::Passkey);
    }
    if enrolled.totp {
        out.push(Factor::Totp);
    }
    if account.code_channel(Kind::Mobile).is_some() && !given("sms") {
        out.push(Factor::Sms);
    }
    if account.code_channel(Kind::Email).is_some() {
        out.push(Factor::Email);
    }
    if enrolled.recovery_codes > 0 {
        out.push(Factor::RecoveryCode);
    }
    out
}

/// Where second-factor answers are checked: the services holding the factors.
#[derive(Clone, Copy)]
pub struct Factors<'a> {
    pub totps: &'a Totps,
    pub recovery_codes: &'a RecoveryCodes,
}

impl Accounts {
    /// Checks a typed second-factor answer (R20) inside the account's failure limits
    /// (R19): the try is reserved before the check, so parallel wrong answers meet the
    /// same backoff and hourly cap as answers one after another, and a wrong one is
    /// durable before this returns (`rate_limited` without checking). A used recovery
    /// code is told to the contacts (R38). Returns the `amr` method it proves.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_second_factor(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        factors: Factors<'_>,
        factor: Factor,
        code: &str,
        ip: &str,
        locale: &str,
    ) -> Result<Method> {
        let id = account.id.as_str();
        let check = async {
            match factor {
                Factor::Totp => factors.totps.verify(tenant, id, code).await.map(|()| (Method::Otp, None)),
                Factor::RecoveryCode => {
                    factors.recovery_codes.consume(tenant, id, code).await.map(|n| (Method::Otp, Some(n)))
                }
                Factor::Sms => self
                    .verify_second_factor_code(tenant, settings, account, Kind::Mobile, code)
                    .await
                    .map(|()| (Method::Sms, None)),
                Factor::Email => self
                    .verify_second_factor_code(tenant, settings, account, Kind::Email, code)
                    .await
                    .map(|()| (Method::Otp, None)),
                Factor::Passkey => Err(Error::invalid(Field::Method, "passkeys answer through the page script")),
            }
        };
        let (method, codes_left) = self.guarded(tenant, settings, &second_step(account, ip), check).await?;
        if let Some(remaining) = codes_left {
            self.notify(tenant, account, Notice::RecoveryCodeUsed { remaining }, locale).await;
        }
        Ok(method)
    }

    /// Checks a passkey given as the second factor (the browser's assertion for a
    /// ceremony started for `account`), inside the same limits as typed answers.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_passkey_factor(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        passkeys: &Passkeys,
        rp: &Rp,
        ceremony: &str,
        credential: serde_json::Value,
        ip: &str,
    ) -> Result<()> {
        let check = async {
            let verified = passkeys.finish_authentication(tenant, rp, ceremony, credential).await?;
            if verified.account_id == account.id { Ok(()) } else { Err(Error::PasskeyRejected) }
        };
        self.guarded(tenant, settings, &second_step(account, ip), check).await
    }

    /// Sends a second-factor code to the account's verified mobile or email; the code
    /// limits of R37 apply as to every code.
    pub async fn send_second_factor_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        kind: Kind,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let b = account.code_channel(kind).ok_or(Error::NotFound(Resource::VerifiedChannel))?;
        let to = destination(b.kind, &b.value);
        self.codes.send(tenant, &settings.codes, Purpose::SecondFactor, &to, ip, locale).await
    }

    /// Checks a second-factor code sent by `send_second_factor_code`.
    pub async fn verify_second_factor_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        kind: Kind,
        code: &str,
    ) -> Result<()> {
        let b = account.code_channel(kind).ok_or(Error::NotFound(Resource::VerifiedChannel))?;
        self.codes.verify(tenant, &settings.codes, Purpose::SecondFactor, &b.value, code).await
    }

    /// Turns 2-step verification on or off and tells the contacts (R38). Turning it
    /// on needs a factor to give; the caller checked the person's identity.
    pub async fn set_two_step(
        &self,
        tenant: &str,
        account_id: &str,
        on: bool,
        enrolled: &Enrolled,
        locale: &str,
    ) -> Result<bool> {
        let account = self.get(tenant, account_id).await?;
        if on && available(&account, enrolled, &[]).iter().all(|f| *f == Factor::RecoveryCode) {
            return Err(Error::Refused(Refusal::NoSecondFactor));
        }
        let changed = self.modify(tenant, account_id, |a| Ok(std::mem::replace(&mut a.two_step, on) != on)).await?;
        if changed {
            self.store.commit().await?;
            let notice = if on { Notice::TwoStepEnabled } else { Notice::TwoStepDisabled };
            self.notify(tenant, &account, notice, locale).await;
        }
        Ok(changed)
    }
}
