//! Signing in: any identifier and the password (R15), or a code sent to the mobile
//! (R16). An unknown identifier and a wrong password give the same answer after the
//! same work.

use crate::account::{Account, Accounts};
use crate::code::{Destination, Notice, Purpose, Sent};
use crate::error::{Error, Result};
use crate::identifier::{Identifier, parse_phone};
use crate::settings::TenantSettings;

/// A successful sign-in and what the person should be told.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    /// The password is older than the tenant's maximum age: suggest a change (R4).
    pub password_expired: bool,
    /// Notices kept for this sign-in (R9), now delivered.
    pub notices: Vec<Notice>,
    /// How the person authenticated (`amr`).
    pub amr: Vec<String>,
}

impl Accounts {
    /// Password sign-in with a mobile, email, account name or account id.
    pub async fn sign_in(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        identifier: &str,
        password: &str,
    ) -> Result<SignedIn> {
        let account = match Identifier::parse(identifier) {
            Ok(i) => match self.find_login(tenant, &i) {
                Err(Error::SeveralAccounts(kind)) => {
                    // Same work as a real check before saying so.
                    self.passwords.verify(None, password).await?;
                    return Err(Error::SeveralAccounts(kind));
                }
                other => other?,
            },
            Err(_) => None,
        };
        let phc = account.as_ref().and_then(|a| a.password.as_deref());
        let ok = self.passwords.verify(phc, password).await?;
        match account {
            Some(a) if ok => self.signed_in(tenant, settings, a, "pwd"),
            _ => Err(Error::BadCredentials),
        }
    }

    /// Sends a sign-in code to a mobile number (R16). The limits count whether or
    /// not the number has an account, and the answer is the same, so the endpoint does
    /// not tell who is registered.
    pub async fn send_sign_in_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        mobile: &str,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let mobile = parse_phone(mobile)?;
        let to = Destination::sms(&mobile);
        let sent = self.codes.admit(tenant, &settings.codes, &to, ip)?;
        if let Ok(Some(_)) = self.find_login(tenant, &Identifier::Phone(mobile.clone())) {
            let message = self.codes.issue(tenant, &settings.codes, Purpose::SignIn, &to, locale)?;
            self.store.commit().await?;
            // In the background: the answer must not take longer for registered numbers.
            self.codes.deliver_in_background(message, "sign-in code not delivered");
        }
        Ok(sent)
    }

    /// Signs in with a mobile number and the code sent to it.
    pub fn sign_in_with_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        mobile: &str,
        code: &str,
    ) -> Result<SignedIn> {
        let mobile = parse_phone(mobile)?;
        self.codes.verify(tenant, &settings.codes, Purpose::SignIn, &mobile, code)?;
        let account = self.find_login(tenant, &Identifier::Phone(mobile))?.ok_or(Error::BadCredentials)?;
        self.signed_in(tenant, settings, account, "sms")
    }

    fn signed_in(&self, tenant: &str, settings: &TenantSettings, account: Account, method: &str) -> Result<SignedIn> {
        let now = self.clock.now();
        let max_age = settings.password.max_age_days * 24 * 3600;
        let password_expired =
            max_age > 0 && account.password.is_some() && now.saturating_sub(account.password_changed_at) > max_age;
        let notices = if account.pending_notices.is_empty() {
            Vec::new()
        } else {
            self.modify(tenant, &account.id, |a| Ok(std::mem::take(&mut a.pending_notices)))?
        };
        Ok(SignedIn { account, password_expired, notices, amr: vec![method.to_string()] })
    }
}
