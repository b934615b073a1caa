//! Changing or adding a mobile or email (R24, R25): a code to the current value,
//! then the new value and its code; an account without one adds it with a proof of
//! identity (the password or a code to a recovery channel, issue 10 item 1) and the
//! new value's code. The new value keeps the old one's roles; the login role only if
//! it is free. The existing contacts are told before the change takes effect (R38).

use crate::account::password::{Proof, destination};
use crate::account::reauth::has_identity_method;
use crate::account::{Account, Accounts, Binding, Kind, Roles, TREES, index, mask};
use crate::code::{Channel, Destination, Notice, Purpose, Sent};
use crate::error::{Error, Field, Resource, Result};
use crate::settings::TenantSettings;
use crate::store::abort;

/// Which value a channel code goes to.
#[derive(Debug, Clone)]
pub enum CodeTarget {
    /// The account's current mobile/email of this kind (step 1).
    Current,
    /// A new value (step 2).
    New(String),
}

impl Accounts {
    /// Sends the code for one step of a channel change, by `channel`: SMS or a voice
    /// call for a mobile (R37), email for an email.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_channel_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        kind: Kind,
        target: CodeTarget,
        channel: Channel,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        check_channel(kind, channel)?;
        let account = self.get(tenant, account_id).await?;
        let (purpose, value) = match target {
            CodeTarget::Current => {
                let current = current(&account, kind).ok_or(Error::NotFound(Resource::CurrentValue))?;
                (Purpose::VerifyOldChannel, current.value.clone())
            }
            CodeTarget::New(v) => (Purpose::VerifyNewChannel, kind.parse(&v)?),
        };
        if kind == Kind::Mobile && purpose == Purpose::VerifyNewChannel && !settings.registration.mobile_allowed(&value)
        {
            return Err(Error::denied("mobile_range_not_allowed"));
        }
        let to = Destination { channel, address: value };
        self.codes.send(tenant, &settings.codes, purpose, &to, ip, locale).await
    }

    /// Replaces (or adds) the account's mobile/email of `kind`. A change proves the
    /// current value with `current_code`; an addition proves identity with `proof`, a
    /// method the account already has (issue 10 item 1, see `reauth`). An account
    /// without any method adds the value as contact-only.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_channel(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        kind: Kind,
        current_code: Option<&str>,
        proof: Option<Proof<'_>>,
        new_value: &str,
        new_code: &str,
        locale: &str,
    ) -> Result<Account> {
        let account = self.get(tenant, account_id).await?;
        let new_value = kind.parse(new_value)?;
        let old = current(&account, kind).cloned();
        if old.as_ref().is_some_and(|o| o.value == new_value) {
            return Err(Error::invalid(Field::Value, "that is already the current value"));
        }
        let new_check = (Purpose::VerifyNewChannel, new_value.as_str(), new_code);
        let roles = match (&old, proof) {
            (Some(o), _) => {
                let code = current_code.ok_or_else(|| {
                    Error::invalid(Field::CurrentCode, "a code sent to the current value is required")
                })?;
                // Both or neither: a wrong new code does not use up the current one.
                let checks = [(Purpose::VerifyOldChannel, o.value.as_str(), code), new_check];
                self.codes.verify_all(tenant, &settings.codes, &checks).await?;
                o.roles
            }
            (None, Some(proof)) => {
                self.prove_with_codes(tenant, settings, &account, proof, &[new_check]).await?;
                Roles::ALL
            }
            (None, None) if has_identity_method(&account) => return Err(Error::ProofRequired),
            (None, None) => {
                self.codes.verify(tenant, &settings.codes, new_check.0, new_check.1, new_check.2).await?;
                Roles::CONTACT
            }
        };
        self.rebind(tenant, &account, kind, old, &new_value, roles, locale).await
    }

    /// Adds the first mobile/email of `kind` during a first third-party sign-in, when
    /// the tenant requires a contact (R17): the upstream sign-in that just happened
    /// (the pending first sign-in, short-lived, bound to this browser, before any
    /// session exists) is the fresh proof, so only the new value's code is asked.
    /// Refused if the account already has a value of this kind.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_first_contact(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        kind: Kind,
        new_value: &str,
        new_code: &str,
        locale: &str,
    ) -> Result<Account> {
        let account = self.get(tenant, account_id).await?;
        let new_value = kind.parse(new_value)?;
        if current(&account, kind).is_some() {
            return Err(Error::invalid(Field::Value, "the account has one already"));
        }
        self.codes.verify(tenant, &settings.codes, Purpose::VerifyNewChannel, &new_value, new_code).await?;
        self.rebind(tenant, &account, kind, None, &new_value, Roles::ALL, locale).await
    }

    /// Binds `new_value` in place of `old` (or as a new channel) with `wanted` roles
    /// (login only if free). The account's contacts, the old value among them, are
    /// told before the change takes effect (R38): they are the ones an attacker does
    /// not control. The new value is told after.
    #[allow(clippy::too_many_arguments)]
    async fn rebind(
        &self,
        tenant: &str,
        account: &Account,
        kind: Kind,
        old: Option<Binding>,
        new_value: &str,
        wanted: Roles,
        locale: &str,
    ) -> Result<Account> {
        let account_id = account.id.as_str();
        let login_free = self.find_login(tenant, &kind.identifier(new_value)).await.ok().flatten().is_none()
            && self.bound_to(tenant, kind, new_value).await?.is_empty();
        let roles = Roles { login: wanted.login && login_free, ..wanted };
        let fresh = Binding { kind, value: new_value.to_string(), verified: true, roles };
        let notice = match kind {
            Kind::Email => Notice::EmailChanged { new_email: mask(kind, new_value) },
            Kind::Mobile => Notice::MobileChanged { new_mobile: mask(kind, new_value) },
        };
        self.notify(tenant, account, notice.clone(), locale).await;
        let now = self.clock.now();
        let updated = self
            .store
            .transaction(TREES, async |tx| {
                let Some(mut a) = tx.get::<Account>(tenant, account_id).await? else {
                    return abort(Error::NotFound(Resource::Account));
                };
                if let Some(o) = &old {
                    index::unbind(tx, tenant, account_id, o).await?;
                    a.bindings.retain(|b| !(b.kind == o.kind && b.value == o.value));
                }
                index::bind(tx, tenant, account_id, &fresh).await?;
                a.bindings.push(fresh.clone());
                a.updated_at = now;
                tx.put(tenant, account_id, &a).await?;
                Ok(a)
            })
            .await?;
        self.store.commit().await?;
        if fresh.roles.contact {
            let told = Account { bindings: vec![fresh.clone()], ..updated.clone() };
            self.notify(tenant, &told, notice, locale).await;
        }
        Ok(updated)
    }

    /// R5: sends a link that adds `email` as the account's security email; valid
    /// two hours. Only for accounts without an email (changing one needs both codes).
    /// The proof of identity is asked now, when the link is asked for; the link then
    /// proves only the mailbox (issue 10 item 1).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_email_link(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        proof: Option<Proof<'_>>,
        email: &str,
        ip: &str,
        locale: &str,
        url: &str,
    ) -> Result<Sent> {
        let account = self.get(tenant, account_id).await?;
        if account.email().is_some() {
            return Err(Error::invalid(Field::Email, "the account has an email; change it with codes"));
        }
        let to = destination(Kind::Email, &Kind::Email.parse(email)?);
        match proof {
            Some(p) => self.prove_with_codes(tenant, settings, &account, p, &[]).await?,
            None if has_identity_method(&account) => return Err(Error::ProofRequired),
            None => {}
        }
        let sent = self.codes.admit(tenant, &settings.codes, &to, ip).await?;
        let message = self
            .codes
            .issue_link(tenant, Purpose::VerifyNewChannel, account_id, &to, url, EMAIL_LINK_LIFETIME, locale)
            .await?;
        self.store.commit().await?;
        self.codes.outbox().deliver(&message).await?;
        Ok(Sent { expires_in: EMAIL_LINK_LIFETIME, ..sent })
    }

    /// True if an email verification link is still good (to show its page, R5).
    pub async fn email_link_valid(&self, tenant: &str, token: &str) -> bool {
        self.codes.peek_link(tenant, Purpose::VerifyNewChannel, token).await.is_ok()
    }

    /// R5: follows the link and adds the email: with every role if the account can
    /// prove identity (it did when the link was asked for), else contact-only.
    pub async fn confirm_email_link(&self, tenant: &str, token: &str, locale: &str) -> Result<Account> {
        let followed = self.codes.follow_link(tenant, Purpose::VerifyNewChannel, token).await?;
        let account = self.get(tenant, &followed.account_id).await?;
        if account.email().is_some() {
            return Err(Error::invalid(Field::Email, "the account has an email; change it with codes"));
        }
        let roles = if has_identity_method(&account) { Roles::ALL } else { Roles::CONTACT };
        self.rebind(tenant, &account, Kind::Email, None, &followed.address, roles, locale).await
    }
}

/// How long an email verification link works (R5).
pub const EMAIL_LINK_LIFETIME: u64 = 2 * 3600;

/// How a code for a value of `kind` travels when the caller does not choose.
pub fn default_channel(kind: Kind) -> Channel {
    match kind {
        Kind::Email => Channel::Email,
        Kind::Mobile => Channel::Sms,
    }
}

/// A mobile's code goes by SMS or voice call, an email's by email; nothing else.
fn check_channel(kind: Kind, channel: Channel) -> Result<()> {
    match (kind, channel) {
        (Kind::Mobile, Channel::Sms | Channel::Voice) | (Kind::Email, Channel::Email) => Ok(()),
        (Kind::Mobile, Channel::Email) => Err(Error::invalid(Field::Channel, "a mobile gets its code by sms or voice")),
        (Kind::Email, _) => Err(Error::invalid(Field::Channel, "an email gets its code by email")),
    }
}

fn current(account: &Account, kind: Kind) -> Option<&Binding> {
    match kind {
        Kind::Email => account.email(),
        Kind::Mobile => account.mobile(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r37_a_mobile_code_goes_by_sms_or_voice_and_an_email_code_by_email() {
        assert!(check_channel(Kind::Mobile, Channel::Sms).is_ok());
        assert!(check_channel(Kind::Mobile, Channel::Voice).is_ok());
        assert!(check_channel(Kind::Email, Channel::Email).is_ok());
        let refused = [(Kind::Mobile, Channel::Email), (Kind::Email, Channel::Sms), (Kind::Email, Channel::Voice)];
        for (kind, channel) in refused {
            let e = check_channel(kind, channel);
            assert!(matches!(e, Err(Error::Invalid { field: Field::Channel, .. })), "{kind:?} {channel:?}");
        }
        assert_eq!(default_channel(Kind::Mobile), Channel::Sms);
        assert_eq!(default_channel(Kind::Email), Channel::Email);
    }
}
