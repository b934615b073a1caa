//! Proving identity (R23, R27) and changing or resetting the password with the
//! tenant's policy and history (R4), with a notice to the contact channels (R38).

use crate::account::guarded::Guard;
use crate::account::signin::Attempt;
use crate::account::{Account, Accounts};
use crate::code::{Destination, Message, MessageKind, Notice, Purpose, Sent};
use crate::credential::policy;
use crate::error::{Error, Field, Result};
use crate::grant::account_families::{self, Why};
use crate::settings::TenantSettings;
use crate::signin::attempts::Subject;

/// How a person proves they hold the account.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// The current password.
    Password(&'a str),
    /// A code sent to one of the account's recovery channels ("use another method").
    Code { address: &'a str, code: &'a str },
}

impl Accounts {
    /// The ways this account can prove identity (R27): "password", and each recovery
    /// mobile or email.
    pub fn identity_methods(account: &Account) -> Vec<(String, Option<String>)> {
        let mut v: Vec<(String, Option<String>)> = Vec::new();
        if account.password.is_some() {
            v.push(("password".into(), None));
        }
        for b in account.bindings.iter().filter(|b| b.roles.recovery) {
            v.push((b.kind.as_str().into(), Some(b.value.clone())));
        }
        v
    }

    /// Sends an identity code to one of the account's recovery channels.
    pub async fn send_identity_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        address: &str,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let account = self.get(tenant, account_id).await?;
        let b = account
            .bindings
            .iter()
            .find(|b| b.roles.recovery && b.value == address)
            .ok_or_else(|| Error::invalid(Field::Address, "not a recovery channel of this account"))?;
        let to = destination(b.kind, &b.value);
        self.codes.send(tenant, &settings.codes, Purpose::VerifyIdentity, &to, ip, locale).await
    }

    /// Checks a proof of identity.
    pub async fn prove(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        proof: Proof<'_>,
    ) -> Result<()> {
        match proof {
            Proof::Password(pw) => {
                // Wrong current passwords count like failed sign-ins (R19): the same
                // backoff and hourly cap, so a session cannot be used to guess.
                // The try is reserved before the hash, so parallel tries meet them too.
                let who = Subject::Account(&account.id);
                let guard = Guard { who, attempt: Attempt::default(), captcha: false, audited: false };
                let check = async {
                    let ok = self.passwords.verify(account.password.as_deref(), pw).await?;
                    if ok { Ok(()) } else { Err(Error::BadCredentials) }
                };
                self.guarded(tenant, settings, &guard, check).await
            }
            Proof::Code { address, code } => {
                if !account.bindings.iter().any(|b| b.roles.recovery && b.value == address) {
                    return Err(Error::invalid(Field::Address, "not a recovery channel of this account"));
                }
                self.codes.verify(tenant, &settings.codes, Purpose::VerifyIdentity, address, code).await
            }
        }
    }

    /// Changes the password after a proof of identity (R23).
    pub async fn change_password(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        proof: Proof<'_>,
        new: &str,
        locale: &str,
    ) -> Result<()> {
        let account = self.get(tenant, account_id).await?;
        self.prove(tenant, settings, &account, proof).await?;
        self.check_new_password(tenant, settings, &account, new).await?;
        self.set_password(tenant, settings, account_id, new, locale, Why::PasswordChanged).await?;
        self.store.commit().await
    }

    /// Whether `new` may become the account's password: policy, the tenant's
    /// plugins, history (not one of the last N). Changes nothing, so a proof can be
    /// kept until the change will go through (R34).
    pub(crate) async fn check_new_password(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        new: &str,
    ) -> Result<()> {
        policy::check(&settings.password, new, account.name.as_deref())?;
        let input = crate::policy::PasswordInput { password: new.to_string(), account_name: account.name.clone() };
        self.policy.password(tenant, &crate::policy::Facts::default(), &input).await.into_result()?;
        let n = settings.password.history;
        let recent = account.password.iter().chain(account.password_history.iter()).take(n);
        for phc in recent {
            if self.passwords.verify(Some(phc), new).await? {
                return Err(Error::invalid(Field::Password, format!("may not be one of your last {n} passwords")));
            }
        }
        Ok(())
    }

    /// Sets a new password that passed `check_new_password`: hash, history, notice.
    /// Every app token of the account is revoked, durably, before the answer (issue
    /// 10 item 3): whoever had the old password may hold them.
    pub(crate) async fn set_password(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        new: &str,
        locale: &str,
        why: Why,
    ) -> Result<()> {
        let n = settings.password.history;
        let phc = self.passwords.hash(new).await?;
        let now = self.clock.now();
        let updated = self
            .modify(tenant, account_id, |a| {
                if let Some(old) = a.password.take() {
                    a.password_history.insert(0, old);
                    a.password_history.truncate(n.max(1));
                }
                a.password = Some(phc.clone());
                a.password_changed_at = now;
                a.known_devices.clear();
                // Remembered devices skip the second factor no more (R20).
                a.security_epoch = a.security_epoch.wrapping_add(1);
                Ok(a.clone())
            })
            .await?;
        account_families::revoke_all_for_account(&self.store, tenant, account_id, why, now).await?;
        self.notify(tenant, &updated, Notice::PasswordChanged, locale).await;
        Ok(())
    }

    /// Sends a security notice to every contact channel of the account (R38).
    /// Delivery failures are logged, not returned: the change itself succeeded.
    pub async fn notify(&self, tenant: &str, account: &Account, notice: Notice, locale: &str) {
        for b in account.contacts() {
            let message = Message {
                tenant: tenant.to_string(),
                to: destination(b.kind, &b.value),
                locale: locale.to_string(),
                kind: MessageKind::Notice(notice.clone()),
            };
            if let Err(e) = self.codes.outbox().deliver(&message).await {
                tracing::warn!(tenant, account = %account.id, error = %e, "security notice not delivered");
            }
        }
    }
}

/// Where messages for a bound value go.
pub fn destination(kind: crate::account::Kind, value: &str) -> Destination {
    match kind {
        crate::account::Kind::Email => Destination::email(value),
        crate::account::Kind::Mobile => Destination::sms(value),
    }
}
