//! Server configuration: built-in defaults, then `config/latchkey.toml` (or `--config`),
//! then `LATCHKEY_*` environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use latchkey_core::credential::password::HashParams;
use serde::{Deserialize, Serialize};

/// Every setting, with its default. `config/latchkey.toml` documents each one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// The URL people and apps reach the server at; issuers are `{public_url}/t/{tenant}`.
    /// Empty: `http://{listen}`.
    pub public_url: String,
    /// Where the store and the admin token live.
    pub data_dir: PathBuf,
    /// Tenant files (`*.toml`) applied at start.
    pub tenants_dir: PathBuf,
    /// Browser session lifetime, seconds.
    pub session_ttl: u64,
    /// Argon2id cost for passwords.
    pub password_hash: HashParams,
    /// Password hashes computed at once (each holds `memory_kib`); 0 = number of cores.
    pub max_concurrent_hashes: usize,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// How messages (codes, notices) are delivered.
    pub outbox: crate::outbox::OutboxConfig,
    /// Limits of every policy plugin call.
    pub plugins: PluginLimits,
}

/// `[plugins]`: the sandbox of every plugin call (W3).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory per plugin instance, MiB.
    pub memory_mib: usize,
    /// Wall-clock budget of one hook call, milliseconds.
    pub deadline_ms: u64,
    /// Instruction budget (fuel) of one hook call.
    pub fuel: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits { memory_mib: 16, deadline_ms: 10, fuel: 200_000_000 }
    }
}

impl PluginLimits {
    pub fn to_limits(self) -> latchkey_core::policy::wasm::Limits {
        latchkey_core::policy::wasm::Limits {
            memory: self.memory_mib << 20,
            deadline: std::time::Duration::from_millis(self.deadline_ms),
            fuel: self.fuel,
            ..latchkey_core::policy::wasm::Limits::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            tenants_dir: PathBuf::from("config/tenants"),
            session_ttl: 14 * 24 * 3600,
            password_hash: HashParams::default(),
            max_concurrent_hashes: 0,
            log: "info".into(),
            outbox: crate::outbox::OutboxConfig::default(),
            plugins: PluginLimits::default(),
        }
    }
}

/// Where `serve` looks for a configuration file when none is named.
pub const DEFAULT_FILE: &str = "config/latchkey.toml";

impl Config {
    /// Loads defaults, the file (if any), and the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut value = toml::Value::try_from(Config::default())?;
        let path = file.map(Path::to_path_buf).or_else(|| Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.exists()));
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let file: toml::Value = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            merge(&mut value, file);
        }
        apply_env(&mut value, "LATCHKEY", &|k| std::env::var(k).ok())?;
        value.try_into().context("invalid configuration")
    }

    /// The public URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Overrides every leaf `a.b` from `{PREFIX}_A_B` when that variable is set.
fn apply_env(value: &mut toml::Value, prefix: &str, get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
    let toml::Value::Table(table) = value else { return Ok(()) };
    for (k, v) in table.iter_mut() {
        let name = format!("{prefix}_{}", k.to_uppercase());
        if let toml::Value::Table(_) = v {
            apply_env(v, &name, get)?;
            continue;
        }
        let Some(raw) = get(&name) else { continue };
        *v = match v {
            toml::Value::String(_) => toml::Value::String(raw),
            toml::Value::Integer(_) => {
                toml::Value::Integer(raw.parse().with_context(|| format!("{name} must be an integer"))?)
            }
            toml::Value::Boolean(_) => {
                toml::Value::Boolean(raw.parse().with_context(|| format!("{name} must be true or false"))?)
            }
            _ => bail!("{name} cannot be set from the environment"),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_nested_settings() {
        let mut v = toml::Value::try_from(Config::default()).unwrap();
        let env = |k: &str| match k {
            "LATCHKEY_LISTEN" => Some("0.0.0.0:9000".to_string()),
            "LATCHKEY_PASSWORD_HASH_MEMORY_KIB" => Some("4096".to_string()),
            _ => None,
        };
        apply_env(&mut v, "LATCHKEY", &env).unwrap();
        let c: Config = v.try_into().unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.password_hash.memory_kib, 4096);
    }

    #[test]
    fn shipped_file_parses_and_matches_defaults() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/latchkey.toml")).unwrap();
        let mut value = toml::Value::try_from(Config::default()).unwrap();
        merge(&mut value, toml::from_str(&text).unwrap());
        let c: Config = value.try_into().unwrap();
        assert_eq!(toml::to_string(&c).unwrap(), toml::to_string(&Config::default()).unwrap());
    }
}
