//! The bundled policy plugins (W6), built from `plugins/` by build.rs and embedded in
//! the binary, and their installation in tenant `default` on first start.

use latchkey_core::policy::PolicyHost;
use serde_json::{Value, json};

/// A bundled plugin: file name, component bytes, configuration for tenant `default`.
pub struct Bundled {
    pub file: &'static str,
    pub wasm: &'static [u8],
    pub config: fn() -> Value,
}

macro_rules! plugin {
    ($file:literal) => {
        include_bytes!(concat!(env!("LATCHKEY_PLUGIN_DIR"), "/", $file))
    };
}

/// The three bundled plugins, in chain order.
pub const BUNDLED: &[Bundled] = &[
    Bundled {
        file: "registration_rules.wasm",
        wasm: plugin!("registration_rules.wasm"),
        config: || json!({ "max_accounts_per_mobile": 5, "reserved_account_names": ["admin", "root", "latchkey"] }),
    },
    Bundled { file: "developer_type.wasm", wasm: plugin!("developer_type.wasm"), config: || json!({}) },
    Bundled {
        file: "device_cap.wasm",
        wasm: plugin!("device_cap.wasm"),
        config: || json!({ "caps": { "personal": 300, "enterprise": null }, "untyped": 300 }),
    },
];

/// Installs the bundled plugins in `tenant` unless its plugin list was ever set
/// (an operator who removed them keeps them removed).
pub async fn install_bundled(policy: &PolicyHost, tenant: &str) -> anyhow::Result<()> {
    if policy.configured(tenant).await? {
        return Ok(());
    }
    for b in BUNDLED {
        policy.install(tenant, b.wasm, (b.config)()).await?;
    }
    Ok(())
}
