//! The services every handler reaches, built once at start.

use std::sync::Arc;

use latchkey_core::account::Accounts;
use latchkey_core::account::security::Security;
use latchkey_core::client::Clients;
use latchkey_core::code::Codes;
use latchkey_core::credential::passkey::Passkeys;
use latchkey_core::credential::password::Passwords;
use latchkey_core::credential::recovery_codes::RecoveryCodes;
use latchkey_core::credential::totp::Totps;
use latchkey_core::developer::Developers;
use latchkey_core::grant::{Authorizations, Tokens};
use latchkey_core::keys::Keys;
use latchkey_core::seal::Sealer;
use latchkey_core::session::Sessions;
use latchkey_core::tenant::Tenants;
use latchkey_core::{Clock, Field, Store};

use crate::config::Config;
use crate::web::templates::Templates;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    /// Only the services built here use it: handlers never name the store (issue 11).
    store: Store,
    pub clock: Arc<dyn Clock>,
    pub public_url: String,
    pub secure_cookies: bool,
    pub tenants: Tenants,
    pub clients: Clients,
    pub accounts: Arc<Accounts>,
    /// The account center's Security section (R20, R38).
    pub security: latchkey_core::account::security::Security,
    /// The sign-in state machine (R15 to R20).
    pub signins: latchkey_core::signin::SignIns,
    /// Developer submissions and their review (R11 to R14).
    pub developers: Developers,
    pub sessions: Sessions,
    /// Devices bound to accounts and device authorizations (R13, RFC 8628).
    pub devices: latchkey_core::device::Devices,
    pub keys: Arc<Keys>,
    /// Authorization requests: validate, decide the next step, issue the code (P2).
    pub authorizations: Authorizations,
    /// Token revocation and introspection.
    pub tokens: Tokens,
    pub codes: Arc<Codes>,
    /// Second factors (R20): authenticator apps, recovery codes, passkeys.
    pub totps: Totps,
    pub recovery_codes: RecoveryCodes,
    pub passkeys: Passkeys,
    /// The tenants' upstream identity providers (R17).
    pub upstreams: latchkey_core::federation::upstream::Upstreams,
    /// Talks to upstream providers (discovery, token exchange, userinfo).
    pub upstream_client: crate::federation::client::UpstreamClient,
    /// The tenants' policy plugin chains.
    pub policy: Arc<latchkey_core::policy::PolicyHost>,
    pub templates: Templates,
    /// Digest of the admin token.
    pub admin_token_digest: String,
    /// The seal key (`data/seal.key`): seals secrets at rest and keys server MACs
    /// (CSRF tokens), so every process on the same data agrees.
    pub sealer: Arc<Sealer>,
    /// Admin page sessions (O4).
    pub admin_sessions: latchkey_core::admin_session::AdminSessions,
}

/// Longest token lifetime a retired key must still verify.
const KEY_RETIRE_GRACE: u64 = 31 * 24 * 3600;

impl Services {
    pub fn new(
        config: &Config,
        store: Store,
        clock: Arc<dyn Clock>,
        admin_token_digest: String,
    ) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hashes = if config.max_concurrent_hashes == 0 { cores } else { config.max_concurrent_hashes };
        let passwords = Passwords::new(config.password_hash, hashes)?;
        let public_url = config.public_url();
        let outbox = crate::outbox::from_config(&config.outbox, &config.data_dir)?;
        let codes = Arc::new(Codes::new(store.clone(), clock.clone(), outbox));
        let wasm = latchkey_core::policy::wasm::WasmHost::new(config.plugins.to_limits())?;
        let policy = Arc::new(latchkey_core::policy::PolicyHost::new(store.clone(), clock.clone(), wasm));
        // Seals TOTP seeds and signing keys; keep it with the data directory (losing it loses every seed).
        let sealer = Arc::new(Sealer::from_key_file(&config.data_dir.join("seal.key"))?);
        let keys = Arc::new(Keys::new(store.clone(), clock.clone(), sealer.clone(), KEY_RETIRE_GRACE));

        let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes.clone(), policy.clone()));
        Ok(Services {
            security: Security::new(store.clone(), clock.clone(), sealer.clone(), accounts.clone()),
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            tenants: Tenants::new(store.clone(), clock.clone()),
            clients: Clients::new(store.clone(), sealer.clone()),
            signins: latchkey_core::signin::SignIns::new(
                store.clone(),
                clock.clone(),
                sealer.clone(),
                accounts.clone(),
                policy.clone(),
                config.session_ttl,
            ),
            tokens: Tokens::new(
                store.clone(),
                clock.clone(),
                keys.clone(),
                accounts.clone(),
                policy.clone(),
                &config.public_url(),
            ),
            accounts,
            developers: Developers::new(store.clone(), clock.clone()),
            devices: latchkey_core::device::Devices::new(store.clone()),
            sessions: Sessions::new(store.clone(), clock.clone(), config.session_ttl),
            authorizations: Authorizations::new(
                store.clone(),
                clock.clone(),
                keys.clone(),
                sealer.clone(),
                &config.public_url(),
            ),
            keys,
            codes,
            totps: Totps::new(store.clone(), clock.clone(), sealer.clone()),
            upstreams: latchkey_core::federation::upstream::Upstreams::new(store.clone(), sealer.clone()),
            upstream_client: crate::federation::client::UpstreamClient::new()?,
            recovery_codes: RecoveryCodes::new(store.clone(), clock.clone(), sealer.clone()),
            passkeys: Passkeys::new(store.clone(), clock.clone(), sealer.clone()),
            policy,
            templates: Templates::new()?,
            admin_token_digest,
            sealer,
            admin_sessions: latchkey_core::admin_session::AdminSessions::new(store.clone(), clock.clone()),
            store,
            clock,
        })
    }

    /// The issuer URL of a tenant.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    /// The WebAuthn relying party of a tenant: the public URL's host, named after the tenant.
    pub async fn relying_party(&self, tenant: &str) -> latchkey_core::Result<latchkey_core::credential::passkey::Rp> {
        let url = url::Url::parse(&self.public_url)
            .map_err(|_| latchkey_core::Error::invalid(Field::PublicUrl, "not a URL"))?;
        let name = self.tenants.get(tenant).await.map(|t| t.display_name).unwrap_or_else(|_| tenant.to_string());
        latchkey_core::credential::passkey::Rp::from_public_url(&url, &name)
    }

    /// What the account has enrolled besides its mobile and email.
    pub async fn enrolled(
        &self,
        tenant: &str,
        account_id: &str,
    ) -> latchkey_core::Result<latchkey_core::account::second_factor::Enrolled> {
        Ok(latchkey_core::account::second_factor::Enrolled {
            totp: self.totps.status(tenant, account_id).await?.is_some_and(|s| s.confirmed),
            passkeys: self.passkeys.count(tenant, account_id).await?,
            recovery_codes: self.recovery_codes.remaining(tenant, account_id).await?,
        })
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Removes the records that expired (the periodic sweep; `core::sweep` has the list).
    pub async fn sweep_expired(&self) -> latchkey_core::Result<usize> {
        latchkey_core::sweep::expired(&self.store, self.now()).await
    }

    /// Makes everything written so far durable: after the first-start bootstrap, and at
    /// shutdown. Requests never need it: every service operation is durable when it returns.
    pub async fn flush(&self) -> latchkey_core::Result<()> {
        self.store.commit().await
    }
}
