//! The services every handler reaches, built once at start.

use std::sync::Arc;

use latchkey_core::account::Accounts;
use latchkey_core::client::Clients;
use latchkey_core::code::Codes;
use latchkey_core::credential::password::Passwords;
use latchkey_core::developer::Developers;
use latchkey_core::keys::Keys;
use latchkey_core::session::Sessions;
use latchkey_core::tenant::Tenants;
use latchkey_core::{Clock, Store};

use crate::config::Config;
use crate::ui::templates::Templates;

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
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub public_url: String,
    pub secure_cookies: bool,
    pub tenants: Tenants,
    pub clients: Clients,
    pub accounts: Accounts,
    /// Developer submissions and their review (R11 to R14).
    pub developers: Developers,
    pub sessions: Sessions,
    pub keys: Keys,
    pub codes: Arc<Codes>,
    /// The tenants' policy plugin chains.
    pub policy: Arc<latchkey_core::policy::PolicyHost>,
    pub templates: Templates,
    /// Digest of the admin token.
    pub admin_token_digest: String,
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

        Ok(Services {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            tenants: Tenants::new(store.clone(), clock.clone()),
            clients: Clients::new(store.clone()),
            accounts: Accounts::new(store.clone(), clock.clone(), passwords, codes.clone(), policy.clone()),
            developers: Developers::new(store.clone(), clock.clone()),
            sessions: Sessions::new(store.clone(), clock.clone(), config.session_ttl),
            keys: Keys::new(store.clone(), clock.clone(), KEY_RETIRE_GRACE),
            codes,
            policy,
            templates: Templates::new()?,
            admin_token_digest,
            store,
            clock,
        })
    }

    /// The issuer URL of a tenant.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}
