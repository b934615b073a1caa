//! Recovery (R34 to R36): forgot password by a code to a recovery mobile or email;
//! forgot account by sending the account names bound to a mobile. Nothing here tells
//! someone who cannot read the channel whether an account exists: every request gets
//! the same answer and counts against the same limits. Every request that sends
//! something first needs a solved CAPTCHA (R19), so no HTTP path can skip it.

use crate::account::password::destination;
use crate::account::{Account, Accounts, Kind};
use crate::code::{Destination, Message, MessageKind, Purpose, Sent};
use crate::error::{Error, Field, Result};
use crate::grant::account_families::Why;
use crate::identifier::{Identifier, parse_email, parse_phone};

use crate::settings::TenantSettings;

/// How long a recovery link works.
pub const RECOVERY_LINK_LIFETIME: u64 = 3600;

/// Who asks to start a recovery or for their account names: where from, the language
/// of what is sent, and the CAPTCHA answer (`id:nonce`, R19). The answer is required
/// because each request sends an SMS or email to an address the asker chooses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    pub ip: &'a str,
    pub locale: &'a str,
    pub captcha: Option<&'a str>,
}

impl Accounts {
    /// The account and recovery destination an identifier names, if any. A mobile or
    /// email must itself be a recovery channel; an account name or id uses the
    /// account's first recovery mobile, else its first recovery email.
    async fn recovery_target(&self, tenant: &str, identifier: &Identifier) -> Option<(Account, Destination)> {
        match identifier {
            Identifier::Email(v) | Identifier::Phone(v) => {
                let kind = if matches!(identifier, Identifier::Email(_)) { Kind::Email } else { Kind::Mobile };
                let ids = self.bound_to(tenant, kind, v).await.ok()?;
                let mut accounts: Vec<Account> = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Ok(a) = self.get(tenant, id).await {
                        accounts.push(a);
                    }
                }
                let mut with_role =
                    accounts.into_iter().filter(|a| a.bindings.iter().any(|b| b.value == *v && b.roles.recovery));
                match (with_role.next(), with_role.next()) {
                    (Some(a), None) => Some((a, destination(kind, v))),
                    _ => None,
                }
            }
            Identifier::Name(_) | Identifier::AccountId(_) => {
                let a = self.find_login(tenant, identifier).await.ok()??;
                let b = a.find(Kind::Mobile, |r| r.recovery).or_else(|| a.find(Kind::Email, |r| r.recovery))?.clone();
                Some((a, destination(b.kind, &b.value)))
            }
        }
    }

    /// Starts a password reset: a code to the recovery channel, if the identifier names
    /// an account that has one. The answer never says which. The CAPTCHA is checked
    /// before anything else: `captcha_required` without one, `captcha_failed` for a
    /// wrong, used or expired one (R19).
    pub async fn start_recovery(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        identifier: &str,
        ask: &Ask<'_>,
    ) -> Result<Sent> {
        self.captchas.check(tenant, ask.captcha).await?;
        let parsed = Identifier::parse(identifier)
            .map_err(|_| Error::invalid(Field::Identifier, "not a mobile, email, account name or id"))?;
        let target = self.recovery_target(tenant, &parsed).await;
        let limit_key = match &target {
            Some((_, to)) => to.clone(),
            None => Destination::email(&format!("unknown|{}", identifier.trim().to_lowercase())),
        };
        let sent = self.codes.admit(tenant, &settings.codes, &limit_key, ask.ip).await?;
        let message = match target {
            Some((_, to)) => Some(self.codes.issue(tenant, &settings.codes, Purpose::Recover, &to, ask.locale).await?),
            None => None,
        };
        // Both paths wrote (the limits, maybe a code) and both flush (R36).
        self.store.commit().await?;
        if let Some(message) = message {
            // Delivered in the background so the answer takes the same time either way.
            self.codes.deliver_in_background(message, "recovery code not delivered");
        }
        Ok(sent)
    }

    /// Finishes a password reset with the code; returns the account id (the caller
    /// ends its sessions). A refused password leaves the code for the next try.
    pub async fn finish_recovery(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        identifier: &str,
        code: &str,
        new_password: &str,
        locale: &str,
    ) -> Result<String> {
        // The same steps whether or not the identifier names an account (R36): the
        // tenant's rules for any password, then the code. Only a right code learns
        // what depends on the account (its name, its history), and the code is used
        // up only once the new password will be taken (R34).
        crate::credential::policy::check(&settings.password, new_password, None)?;
        let parsed = Identifier::parse(identifier).map_err(|_| Error::CodeInvalid)?;
        let target = self.recovery_target(tenant, &parsed).await;
        let address = match &target {
            Some((_, to)) => to.address.clone(),
            None => format!("unknown|{}", identifier.trim().to_lowercase()),
        };
        self.codes.check(tenant, &settings.codes, Purpose::Recover, &address, code).await?;
        let Some((account, to)) = target else { return Err(Error::CodeInvalid) };
        self.check_new_password(tenant, settings, &account, new_password).await?;
        self.codes.verify(tenant, &settings.codes, Purpose::Recover, &to.address, code).await?;
        self.set_password(tenant, settings, &account.id, new_password, locale, Why::PasswordReset).await?;
        Ok(account.id)
    }

    /// Starts a password reset by an emailed link (R34): `email` must be the recovery
    /// email of one account. The answer is the same either way (R36). The CAPTCHA is
    /// checked first, as for `start_recovery` (R19).
    pub async fn start_recovery_link(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        email: &str,
        ask: &Ask<'_>,
        url: &str,
    ) -> Result<Sent> {
        self.captchas.check(tenant, ask.captcha).await?;
        let email = parse_email(email)?;
        let target = self.recovery_target(tenant, &Identifier::Email(email.clone())).await;
        let sent = self.codes.admit(tenant, &settings.codes, &Destination::email(&email), ask.ip).await?;
        let message = match target {
            Some((account, to)) => Some(
                self.codes
                    .issue_link(tenant, Purpose::Recover, &account.id, &to, url, RECOVERY_LINK_LIFETIME, ask.locale)
                    .await?,
            ),
            None => None,
        };
        // Both paths flush (R36).
        self.store.commit().await?;
        if let Some(message) = message {
            self.codes.deliver_in_background(message, "recovery link not delivered");
        }
        Ok(Sent { expires_in: RECOVERY_LINK_LIFETIME, ..sent })
    }

    /// True if a recovery link is still good (to show its page).
    pub async fn recovery_link_valid(&self, tenant: &str, token: &str) -> bool {
        self.codes.peek_link(tenant, Purpose::Recover, token).await.is_ok()
    }

    /// Sets a new password with a recovery link; returns the account id. The link
    /// is used up only when the password is taken.
    pub async fn finish_recovery_link(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        token: &str,
        new_password: &str,
        locale: &str,
    ) -> Result<String> {
        let peeked = self.codes.peek_link(tenant, Purpose::Recover, token).await?;
        let account = self.get(tenant, &peeked.account_id).await?;
        // Policy, plugins and history before the link is used up: a refused password
        // leaves it working (R34). Using it up is atomic, so parallel requests with
        // one link change the password once.
        self.check_new_password(tenant, settings, &account, new_password).await?;
        let followed = self.codes.follow_link(tenant, Purpose::Recover, token).await?;
        self.set_password(tenant, settings, &followed.account_id, new_password, locale, Why::PasswordReset).await?;
        Ok(followed.account_id)
    }

    /// Forgot account (R35): sends the account names bound to a mobile to it. The
    /// answer is the same whether or not there are any. The CAPTCHA is checked first
    /// (R19): this sends an SMS to any number.
    pub async fn send_account_names(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        mobile: &str,
        ask: &Ask<'_>,
    ) -> Result<Sent> {
        self.captchas.check(tenant, ask.captcha).await?;
        let mobile = parse_phone(mobile)?;
        let to = Destination::sms(&mobile);
        let sent = self.codes.admit(tenant, &settings.codes, &to, ask.ip).await?;
        let mut names: Vec<String> = Vec::new();
        for id in self.bound_to(tenant, Kind::Mobile, &mobile).await? {
            if let Ok(a) = self.get(tenant, &id).await {
                names.push(a.name.unwrap_or(a.id));
            }
        }
        // Both paths flush the limits they counted (R36).
        self.store.commit().await?;
        if !names.is_empty() {
            let message = Message {
                tenant: tenant.to_string(),
                to,
                locale: ask.locale.to_string(),
                kind: MessageKind::AccountNames { names },
            };
            self.codes.deliver_in_background(message, "account names not delivered");
        }
        Ok(sent)
    }

    /// Forgot account by id (R35): the person completes the account's security mobile;
    /// if it matches, the account name is sent to it. Same answer either way (R36).
    /// The CAPTCHA is checked first (R19).
    pub async fn send_account_name_by_id(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        mobile: &str,
        ask: &Ask<'_>,
    ) -> Result<Sent> {
        self.captchas.check(tenant, ask.captcha).await?;
        let mobile = parse_phone(mobile)?;
        let to = Destination::sms(&mobile);
        let sent = self.codes.admit(tenant, &settings.codes, &to, ask.ip).await?;
        let account = self.store.get::<Account>(tenant, account_id).await?;
        let matches = account.as_ref().is_some_and(|a| {
            a.bindings.iter().any(|b| b.kind == Kind::Mobile && b.roles.recovery && b.value == mobile)
        });
        self.store.commit().await?;
        if let (true, Some(a)) = (matches, account) {
            let names = vec![a.name.unwrap_or(a.id)];
            let message = Message {
                tenant: tenant.to_string(),
                to,
                locale: ask.locale.to_string(),
                kind: MessageKind::AccountNames { names },
            };
            self.codes.deliver_in_background(message, "account name not delivered");
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests;
