//! The account operations of one tenant under its own settings: the service reads
//! the settings once (`Accounts::in_tenant`), so an edge never fetches them only to
//! hand them back. Pages that also render from the settings (password rules) read
//! them from the same handle.

use crate::account::channels::CodeTarget;
use crate::account::password::Proof;
use crate::account::recovery::Ask;
use crate::account::registration::{Registered, Registration};
use crate::account::{Account, Accounts, Kind};
use crate::code::{Channel, Destination, Sent};
use crate::error::Result;
use crate::policy::Facts;
use crate::settings::TenantSettings;
use crate::tenant::settings_of;

/// The accounts of one tenant with that tenant's settings.
pub struct InTenant<'a> {
    accounts: &'a Accounts,
    tenant: &'a str,
    settings: TenantSettings,
}

impl Accounts {
    /// The accounts of `tenant` under its settings (`not_found` for an unknown tenant).
    pub async fn in_tenant<'a>(&'a self, tenant: &'a str) -> Result<InTenant<'a>> {
        Ok(InTenant { accounts: self, tenant, settings: settings_of(&self.store, tenant).await? })
    }
}

impl InTenant<'_> {
    /// The tenant's settings, for what a page renders from them.
    pub fn settings(&self) -> &TenantSettings {
        &self.settings
    }

    /// A CAPTCHA challenge at the tenant's difficulty (R19).
    pub async fn captcha(&self) -> Result<crate::captcha::Challenge> {
        self.accounts.captchas().issue(self.tenant, self.settings.sign_in.captcha_difficulty).await
    }

    /// See `Accounts::send_identity_code`.
    pub async fn send_identity_code(&self, account_id: &str, address: &str, ip: &str, locale: &str) -> Result<Sent> {
        self.accounts.send_identity_code(self.tenant, &self.settings, account_id, address, ip, locale).await
    }

    /// See `Accounts::change_password` (durable).
    pub async fn change_password(&self, account_id: &str, proof: Proof<'_>, new: &str, locale: &str) -> Result<()> {
        self.accounts.change_password(self.tenant, &self.settings, account_id, proof, new, locale).await
    }

    /// See `Accounts::send_channel_code`.
    pub async fn send_channel_code(
        &self,
        account_id: &str,
        kind: Kind,
        target: CodeTarget,
        channel: Channel,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let (tenant, settings) = (self.tenant, &self.settings);
        self.accounts.send_channel_code(tenant, settings, account_id, kind, target, channel, ip, locale).await
    }

    /// See `Accounts::change_channel` (durable).
    #[allow(clippy::too_many_arguments)]
    pub async fn change_channel(
        &self,
        account_id: &str,
        kind: Kind,
        current_code: Option<&str>,
        proof: Option<Proof<'_>>,
        new_value: &str,
        new_code: &str,
        locale: &str,
    ) -> Result<Account> {
        let (tenant, settings) = (self.tenant, &self.settings);
        self.accounts
            .change_channel(tenant, settings, account_id, kind, current_code, proof, new_value, new_code, locale)
            .await
    }

    /// See `Accounts::send_email_link` (durable).
    pub async fn send_email_link(
        &self,
        account_id: &str,
        proof: Option<Proof<'_>>,
        email: &str,
        ip: &str,
        locale: &str,
        url: &str,
    ) -> Result<Sent> {
        let (tenant, settings) = (self.tenant, &self.settings);
        self.accounts.send_email_link(tenant, settings, account_id, proof, email, ip, locale, url).await
    }

    /// See `Accounts::send_register_code`.
    pub async fn send_register_code(&self, to: &Destination, ip: &str, locale: &str) -> Result<Sent> {
        self.accounts.send_register_code(self.tenant, &self.settings, to, ip, locale).await
    }

    /// See `Accounts::send_sign_in_code`.
    pub async fn send_sign_in_code(&self, mobile: &str, ip: &str, locale: &str) -> Result<Sent> {
        self.accounts.send_sign_in_code(self.tenant, &self.settings, mobile, ip, locale).await
    }

    /// See `Accounts::register` (durable).
    pub async fn register(&self, facts: &Facts, reg: Registration) -> Result<Registered> {
        self.accounts.register(self.tenant, &self.settings, facts, reg).await
    }

    /// See `Accounts::start_recovery`.
    pub async fn start_recovery(&self, identifier: &str, ask: &Ask<'_>) -> Result<Sent> {
        self.accounts.start_recovery(self.tenant, &self.settings, identifier, ask).await
    }

    /// See `Accounts::finish_recovery`; returns the account id.
    pub async fn finish_recovery(&self, identifier: &str, code: &str, new: &str, locale: &str) -> Result<String> {
        self.accounts.finish_recovery(self.tenant, &self.settings, identifier, code, new, locale).await
    }

    /// See `Accounts::start_recovery_link`.
    pub async fn start_recovery_link(&self, email: &str, ask: &Ask<'_>, url: &str) -> Result<Sent> {
        self.accounts.start_recovery_link(self.tenant, &self.settings, email, ask, url).await
    }

    /// See `Accounts::finish_recovery_link`; returns the account id.
    pub async fn finish_recovery_link(&self, token: &str, new: &str, locale: &str) -> Result<String> {
        self.accounts.finish_recovery_link(self.tenant, &self.settings, token, new, locale).await
    }

    /// See `Accounts::send_account_names`.
    pub async fn send_account_names(&self, mobile: &str, ask: &Ask<'_>) -> Result<Sent> {
        self.accounts.send_account_names(self.tenant, &self.settings, mobile, ask).await
    }

    /// See `Accounts::send_account_name_by_id`.
    pub async fn send_account_name_by_id(&self, account_id: &str, mobile: &str, ask: &Ask<'_>) -> Result<Sent> {
        self.accounts.send_account_name_by_id(self.tenant, &self.settings, account_id, mobile, ask).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::code::{Codes, Message, Outbox};
    use crate::credential::password::{HashParams, Passwords};
    use crate::error::Error;
    use crate::error::Resource;
    use crate::policy::PolicyHost;
    use crate::policy::wasm::{Limits, WasmHost};
    use crate::store::{GLOBAL, Store};
    use crate::tenant::Tenant;

    struct Dropped;

    impl Outbox for Dropped {
        fn deliver<'a>(
            &'a self,
            _: &'a Message,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn u_operations_run_under_the_tenants_own_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(ManualClock::new());
        let codes = Arc::new(Codes::new(store.clone(), clock.clone(), Arc::new(Dropped)));
        let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
        let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
        let accounts = Accounts::new(store.clone(), clock, passwords, codes, policy);
        assert!(matches!(accounts.in_tenant("nope").await.err(), Some(Error::NotFound(Resource::Tenant))));

        let mut settings = TenantSettings::default();
        settings.sign_in.captcha_difficulty = 12;
        settings.registration.enabled = false;
        store
            .put(GLOBAL, "t", &Tenant { id: "t".into(), display_name: "T".into(), created_at: 0, settings })
            .await
            .unwrap();
        let t = accounts.in_tenant("t").await.unwrap();
        assert_eq!(t.captcha().await.unwrap().difficulty, 12, "the tenant's CAPTCHA difficulty");
        let by = crate::account::registration::RegisterBy::Email { email: "a@example.com".into() };
        let reg = Registration { by, password: "long enough".into(), code: "1".into(), take_over: false };
        let closed = t.register(&Facts::default(), reg).await;
        assert!(
            matches!(closed, Err(Error::PolicyDenied { ref reason }) if reason == "registration_closed"),
            "{closed:?}"
        );
    }
}
