//! The device operations the edges call, each one whole: it reads the tenant's
//! settings itself, writes, and is durable before it returns (R13, RFC 8628).

use super::guesses::Guesser;
use super::request;
use super::{Approval, DeveloperFacts, Device, Devices, NewDevice, PendingView, Started};
use crate::client::Client;
use crate::error::Result;
use crate::grant::OAuthError;
use crate::policy::{Facts, PolicyHost};
use crate::tenant::settings_of;

impl Devices {
    /// Starts a device authorization for an authenticated `client` asking for `scope`
    /// (RFC 8628 §3.1), durably: the device may poll with its code as soon as it has
    /// the answer. A client not registered for the grant or a malformed scope is the
    /// OAuth refusal the device reads (see [`request::check`]), and writes nothing.
    pub async fn start_durably(
        &self,
        tenant: &str,
        client: &Client,
        scope: Option<&str>,
        device_id: Option<String>,
        device_name: Option<String>,
        now: u64,
    ) -> Result<std::result::Result<Started, OAuthError>> {
        let scopes = match request::check(client, scope) {
            Ok(scopes) => scopes,
            Err(refused) => return Ok(Err(refused)),
        };
        let started = self.start(tenant, &client.id, scopes, device_id, device_name, now).await?;
        self.store.commit().await?;
        Ok(Ok(started))
    }

    /// The pending authorization behind a typed user code under the tenant's
    /// device-code rules (see `check_user_code`); durable before it answers.
    pub async fn check_typed_code(
        &self,
        tenant: &str,
        who: &Guesser<'_>,
        typed: &str,
        now: u64,
    ) -> Result<PendingView> {
        let rules = settings_of(&self.store, tenant).await?.device_codes;
        self.check_user_code(tenant, &rules, who, typed, now).await
    }

    /// Binds a device after the device-binding hook (see `bind_with_policy`), durably.
    #[allow(clippy::too_many_arguments)]
    pub async fn bind_durably(
        &self,
        policy: &PolicyHost,
        facts: &Facts,
        tenant: &str,
        account_id: &str,
        dev: &DeveloperFacts,
        new: NewDevice,
        now: u64,
    ) -> Result<Device> {
        let device = self.bind_with_policy(policy, facts, tenant, account_id, dev, new, now).await?;
        self.store.commit().await?;
        Ok(device)
    }

    /// Unbinds one of the account's devices (see `unbind`), durably.
    pub async fn unbind_durably(&self, tenant: &str, account_id: &str, device_id: &str) -> Result<Device> {
        let device = self.unbind(tenant, account_id, device_id).await?;
        self.store.commit().await?;
        Ok(device)
    }

    /// Approves a device authorization after the device-binding hook (see
    /// `approve_with_policy`), durably.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve_durably(
        &self,
        policy: &PolicyHost,
        facts: &Facts,
        tenant: &str,
        typed: &str,
        approval: Approval,
        dev: &DeveloperFacts,
        client_name: &str,
        now: u64,
    ) -> Result<Device> {
        let device = self.approve_with_policy(policy, facts, tenant, typed, approval, dev, client_name, now).await?;
        self.store.commit().await?;
        Ok(device)
    }

    /// Denies a device authorization (see `deny`), durably.
    pub async fn deny_durably(&self, tenant: &str, typed: &str, now: u64) -> Result<()> {
        self.deny(tenant, typed, now).await?;
        self.store.commit().await
    }
}
