//! The plugins a tenant runs: their bytes in the store (by content hash, so every
//! server process sees the same set), the tenant's ordered list with each plugin's
//! JSON configuration, and the compiled chain swapped atomically when it changes (W4).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Field, Resource, Result};
use crate::policy::chain::{Chain, Link};
use crate::policy::wasm::{WasmHost, content_hash};
use crate::policy::{
    Claims, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Facts, Hook, PasswordInput, RegistrationInput,
    SignInInput, SubmissionDecision, SubmissionInput,
};
use crate::store::{GLOBAL, Record, Store};

/// A plugin's bytes, stored once per content hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PluginBlob {
    /// The component, base64.
    wasm: String,
}

impl Record for PluginBlob {
    const TREE: &'static str = "plugin_blobs";
    const VERSION: u32 = 1;
}

/// One plugin in a tenant's chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstalledPlugin {
    pub name: String,
    pub version: String,
    pub hash: String,
    pub hooks: Vec<Hook>,
    pub config: serde_json::Value,
    pub installed_at: u64,
}

/// A tenant's ordered plugin list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TenantPlugins {
    generation: u64,
    plugins: Vec<InstalledPlugin>,
}

impl Record for TenantPlugins {
    const TREE: &'static str = "tenant_plugins";
    const VERSION: u32 = 1;
}

const CHAIN: &str = "chain";

struct Cached {
    generation: u64,
    checked_at: u64,
    chain: Arc<Chain>,
}

/// What services call: the tenant's chain, loaded from the store and cached.
pub struct PolicyHost {
    store: Store,
    clock: Arc<dyn Clock>,
    wasm: Arc<WasmHost>,
    chains: RwLock<HashMap<String, Arc<Cached>>>,
}

impl PolicyHost {
    pub fn new(store: Store, clock: Arc<dyn Clock>, wasm: Arc<WasmHost>) -> Self {
        PolicyHost { store, clock, wasm, chains: RwLock::new(HashMap::new()) }
    }

    /// Validates and installs a plugin at the end of the tenant's chain (or in place
    /// of the plugin with the same name), with its configuration.
    pub async fn install(&self, tenant: &str, wasm: &[u8], config: serde_json::Value) -> Result<InstalledPlugin> {
        if !config.is_object() {
            return Err(Error::invalid(Field::Config, "a plugin configuration is a JSON object"));
        }
        let plugin = self.wasm.load(wasm)?;
        let hash = content_hash(wasm);
        self.store.put(GLOBAL, &hash, &PluginBlob { wasm: STANDARD.encode(wasm) }).await?;
        let m = crate::policy::Plugin::manifest(plugin.as_ref()).clone();
        let entry = InstalledPlugin {
            name: m.name,
            version: m.version,
            hash,
            hooks: m.hooks,
            config,
            installed_at: self.clock.now(),
        };
        let e = entry.clone();
        self.change(tenant, move |list| {
            match list.iter_mut().find(|p| p.name == e.name) {
                Some(slot) => *slot = e.clone(),
                None => list.push(e.clone()),
            }
            Ok(())
        })
        .await?;
        let detail = serde_json::json!({ "hash": entry.hash, "version": entry.version });
        self.audit_change(tenant, "plugin_installed", &entry.name, detail).await?;
        Ok(entry)
    }

    /// Removes a plugin by name.
    pub async fn remove(&self, tenant: &str, name: &str) -> Result<()> {
        self.change(tenant, |list| {
            let before = list.len();
            list.retain(|p| p.name != name);
            if list.len() == before { Err(Error::NotFound(Resource::Plugin)) } else { Ok(()) }
        })
        .await?;
        self.audit_change(tenant, "plugin_removed", name, serde_json::Value::Null).await
    }

    /// Replaces a plugin's configuration.
    pub async fn configure(&self, tenant: &str, name: &str, config: serde_json::Value) -> Result<()> {
        if !config.is_object() {
            return Err(Error::invalid(Field::Config, "a plugin configuration is a JSON object"));
        }
        self.change(tenant, |list| match list.iter_mut().find(|p| p.name == name) {
            Some(p) => {
                p.config = config.clone();
                Ok(())
            }
            None => Err(Error::NotFound(Resource::Plugin)),
        })
        .await?;
        self.audit_change(tenant, "plugin_configured", name, serde_json::Value::Null).await
    }

    /// The tenant's plugins, in chain order.
    pub async fn list(&self, tenant: &str) -> Result<Vec<InstalledPlugin>> {
        Ok(self.store.get::<TenantPlugins>(tenant, CHAIN).await?.unwrap_or_default().plugins)
    }

    /// True once the tenant's plugin list was ever written (even emptied).
    pub async fn configured(&self, tenant: &str) -> Result<bool> {
        Ok(self.store.get::<TenantPlugins>(tenant, CHAIN).await?.is_some())
    }

    async fn change(&self, tenant: &str, f: impl Fn(&mut Vec<InstalledPlugin>) -> Result<()>) -> Result<()> {
        self.store
            .update::<TenantPlugins, _>(tenant, CHAIN, |old| {
                let mut t = old.unwrap_or_default();
                f(&mut t.plugins)?;
                t.generation += 1;
                Ok((Some(t), ()))
            })
            .await?;
        if let Ok(mut c) = self.chains.write() {
            c.remove(tenant);
        }
        Ok(())
    }

    /// The tenant's compiled chain. Cached; at most once a second the cache checks
    /// the stored generation, so another process's change shows up.
    pub async fn chain(&self, tenant: &str) -> Result<Arc<Chain>> {
        let now = self.clock.now();
        let cached = self.chains.read().ok().and_then(|c| c.get(tenant).cloned());
        if let Some(c) = &cached
            && c.checked_at >= now
        {
            return Ok(c.chain.clone());
        }
        let record = self.store.get::<TenantPlugins>(tenant, CHAIN).await?.unwrap_or_default();
        if let Some(c) = cached
            && c.generation == record.generation
        {
            self.remember(tenant, Cached { generation: c.generation, checked_at: now, chain: c.chain.clone() });
            return Ok(c.chain.clone());
        }
        let mut links = Vec::with_capacity(record.plugins.len());
        for p in &record.plugins {
            let blob =
                self.store.get::<PluginBlob>(GLOBAL, &p.hash).await?.ok_or(Error::NotFound(Resource::PluginBytes))?;
            let bytes = STANDARD.decode(&blob.wasm).map_err(|_| Error::Storage("plugin bytes encoding".into()))?;
            let plugin = self.wasm.load(&bytes)?;
            links.push(Link { plugin, config: p.config.to_string() });
        }
        let chain = Arc::new(Chain { links });
        self.remember(tenant, Cached { generation: record.generation, checked_at: now, chain: chain.clone() });
        Ok(chain)
    }

    /// Audits an admin's change of the chain; a failed write fails the change's call
    /// (`audit`'s error policy).
    async fn audit_change(&self, tenant: &str, action: &str, plugin: &str, detail: serde_json::Value) -> Result<()> {
        let event =
            crate::audit::AuditEvent::new(self.clock.now(), "admin", action).subject(Some(plugin)).detail(detail);
        crate::audit::record(&self.store, tenant, &event).await
    }

    /// Audits a plugin's failure (`policy_error`). A failure to record is logged: the
    /// exception in `audit`'s error policy, as the hook's answer is already a denial
    /// (or claims left out) and hooks answer decisions, not errors.
    async fn audit_failure(&self, tenant: &str, facts: &Facts, hook: &str, detail: &str) {
        let event = crate::audit::AuditEvent::new(self.clock.now(), "policy", crate::policy::POLICY_ERROR)
            .ip(Some(facts.ip.as_str()).filter(|ip| !ip.is_empty()))
            .client(facts.client_id.as_deref())
            .detail(serde_json::json!({ "hook": hook, "detail": detail }));
        if let Err(e) = crate::audit::record(&self.store, tenant, &event).await {
            tracing::error!(tenant, error = %e, "audit event not recorded");
        }
    }

    /// Audits a plugin failure (a `policy_error` denial) and passes the decision on.
    async fn audited(&self, tenant: &str, hook: &str, facts: &Facts, d: Decision) -> Decision {
        if let Decision::Deny { reason, message } = &d
            && reason == crate::policy::POLICY_ERROR
        {
            self.audit_failure(tenant, facts, hook, message).await;
        }
        d
    }

    fn remember(&self, tenant: &str, c: Cached) {
        if let Ok(mut map) = self.chains.write() {
            map.insert(tenant.to_string(), Arc::new(c));
        }
    }

    /// A chain that cannot be loaded denies everything it guards.
    async fn with_chain(&self, tenant: &str, f: impl FnOnce(&Chain) -> Decision) -> Decision {
        match self.chain(tenant).await {
            Ok(c) => f(&c),
            Err(e) => {
                tracing::error!(tenant, error = %e, "policy chain unavailable; denying");
                Decision::policy_error("the tenant's policy could not be loaded")
            }
        }
    }

    /// Runs one decision hook on the tenant's chain and audits a `policy_error`.
    async fn decide(
        &self,
        tenant: &str,
        facts: &Facts,
        hook: Hook,
        f: impl FnOnce(&Chain, u64) -> Decision,
    ) -> Decision {
        let now = self.clock.now();
        let d = self.with_chain(tenant, |c| f(c, now)).await;
        self.audited(tenant, hook.as_str(), facts, d).await
    }

    pub async fn registration(&self, tenant: &str, facts: &Facts, input: &RegistrationInput) -> Decision {
        self.decide(tenant, facts, Hook::Registration, |c, now| c.registration(tenant, facts, now, input)).await
    }

    pub async fn password(&self, tenant: &str, facts: &Facts, input: &PasswordInput) -> Decision {
        self.decide(tenant, facts, Hook::Password, |c, now| c.password(tenant, facts, now, input)).await
    }

    pub async fn device_binding(&self, tenant: &str, facts: &Facts, input: &DeviceBindingInput) -> Decision {
        self.decide(tenant, facts, Hook::DeviceBinding, |c, now| c.device_binding(tenant, facts, now, input)).await
    }

    pub async fn sign_in(&self, tenant: &str, facts: &Facts, input: &SignInInput) -> Decision {
        self.decide(tenant, facts, Hook::SignIn, |c, now| c.sign_in(tenant, facts, now, input)).await
    }

    pub async fn account_deletion(&self, tenant: &str, facts: &Facts, input: &DeletionInput) -> Decision {
        self.decide(tenant, facts, Hook::AccountDeletion, |c, now| c.account_deletion(tenant, facts, now, input)).await
    }

    pub async fn developer_submission(
        &self,
        tenant: &str,
        facts: &Facts,
        input: &SubmissionInput,
    ) -> SubmissionDecision {
        let now = self.clock.now();
        match self.chain(tenant).await {
            Ok(c) => c.developer_submission(tenant, facts, now, input),
            Err(_) => SubmissionDecision::Deny { reason: crate::policy::POLICY_ERROR.into(), message: String::new() },
        }
    }

    /// Merged claims; a failing plugin adds none (logged).
    pub async fn token_claims(&self, tenant: &str, facts: &Facts, input: &ClaimsInput) -> Claims {
        let now = self.clock.now();
        match self.chain(tenant).await {
            Ok(c) => {
                let (claims, failures) = c.token_claims(tenant, facts, now, input);
                for f in failures {
                    tracing::warn!(tenant, failure = %f, "token-claims plugin failed");
                    self.audit_failure(tenant, facts, "token-claims", &f).await;
                }
                claims
            }
            Err(e) => {
                tracing::error!(tenant, error = %e, "policy chain unavailable");
                Claims::default()
            }
        }
    }
}

/// The admin API's plugin operations, each durable before it returns.
impl PolicyHost {
    /// Installs a plugin (see `install`), durably.
    pub async fn install_durably(
        &self,
        tenant: &str,
        wasm: &[u8],
        config: serde_json::Value,
    ) -> Result<InstalledPlugin> {
        let installed = self.install(tenant, wasm, config).await?;
        self.store.commit().await?;
        Ok(installed)
    }

    /// Removes a plugin (see `remove`), durably.
    pub async fn remove_durably(&self, tenant: &str, name: &str) -> Result<()> {
        self.remove(tenant, name).await?;
        self.store.commit().await
    }

    /// Replaces a plugin's configuration (see `configure`), durably.
    pub async fn configure_durably(&self, tenant: &str, name: &str, config: serde_json::Value) -> Result<()> {
        self.configure(tenant, name, config).await?;
        self.store.commit().await
    }
}
