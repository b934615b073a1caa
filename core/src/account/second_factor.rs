//! Second factors an account can give after its password (R20), codes sent as one,
//! and 2-step verification turned on or off (with a notice, R38).

use serde::{Deserialize, Serialize};

use crate::account::password::destination;
use crate::account::{Account, Accounts, Binding, Kind};
use crate::code::{Notice, Purpose, Sent};
use crate::error::{Error, Result};
use crate::settings::TenantSettings;

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

impl Accounts {
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
        let b = account.code_channel(kind).ok_or(Error::NotFound("verified channel"))?;
        let to = destination(b.kind, &b.value);
        self.codes.send(tenant, &settings.codes, Purpose::SecondFactor, &to, ip, locale).await
    }

    /// Checks a second-factor code sent by `send_second_factor_code`.
    pub fn verify_second_factor_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        kind: Kind,
        code: &str,
    ) -> Result<()> {
        let b = account.code_channel(kind).ok_or(Error::NotFound("verified channel"))?;
        self.codes.verify(tenant, &settings.codes, Purpose::SecondFactor, &b.value, code)
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
        let account = self.get(tenant, account_id)?;
        if on && available(&account, enrolled, &[]).iter().all(|f| *f == Factor::RecoveryCode) {
            return Err(Error::Refused("no_second_factor"));
        }
        let changed = self.modify(tenant, account_id, |a| Ok(std::mem::replace(&mut a.two_step, on) != on))?;
        if changed {
            self.store.commit().await?;
            let notice = if on { Notice::TwoStepEnabled } else { Notice::TwoStepDisabled };
            self.notify(tenant, &account, notice, locale).await;
        }
        Ok(changed)
    }
}
