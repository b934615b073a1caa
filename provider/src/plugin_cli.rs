//! `latchkey plugin check|run`: try a plugin on the host without a server (W5).

use anyhow::{Context, bail};
use latchkey_core::policy::wasm::{Limits, WasmHost};
use latchkey_core::policy::{Call, Facts, Hook, Plugin};
use serde_json::{Value, json};

fn load(file: &std::path::Path) -> anyhow::Result<std::sync::Arc<latchkey_core::policy::wasm::WasmPlugin>> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let host = WasmHost::new(Limits::default())?;
    Ok(host.load(&bytes)?)
}

/// Checks that a file is a plugin of a world version this host runs; names that
/// version and lists its hooks.
pub fn check(file: &std::path::Path) -> anyhow::Result<Value> {
    let p = load(file)?;
    let m = p.manifest();
    Ok(json!({
        "name": m.name, "version": m.version, "world": p.world().to_string(),
        "hooks": m.hooks, "sha256": p.hash,
    }))
}

/// Runs one hook of a plugin with a JSON input (the hook's input record, snake_case
/// fields) and configuration; prints the plugin's answer.
pub fn run(file: &std::path::Path, hook: &str, input: &str, config: &str, tenant: &str) -> anyhow::Result<Value> {
    let p = load(file)?;
    let Some(hook) = Hook::parse(hook) else {
        bail!("unknown hook {hook}; one of {}", Hook::ALL.map(Hook::as_str).join(", "));
    };
    if !p.manifest().hooks.contains(&hook) {
        bail!("the plugin does not implement {} (it implements {:?})", hook.as_str(), p.manifest().hooks);
    }
    let config: Value = serde_json::from_str(config).context("--config is not JSON")?;
    let facts = Facts::default();
    let now = latchkey_core::Clock::now(&latchkey_core::SystemClock);
    let config_text = config.to_string();
    let call = Call { tenant, config: &config_text, facts: &facts, now };
    let parse = |what: &str| format!("--input is not a {what} input");
    let out = match hook {
        Hook::Registration => {
            json!(p.registration(&call, &serde_json::from_str(input).with_context(|| parse("registration"))?))
        }
        Hook::Password => json!(p.password(&call, &serde_json::from_str(input).with_context(|| parse("password"))?)),
        Hook::DeveloperSubmission => {
            json!(p.developer_submission(
                &call,
                &serde_json::from_str(input).with_context(|| parse("developer-submission"))?
            ))
        }
        Hook::DeviceBinding => {
            json!(p.device_binding(&call, &serde_json::from_str(input).with_context(|| parse("device-binding"))?))
        }
        Hook::SignIn => json!(p.sign_in(&call, &serde_json::from_str(input).with_context(|| parse("sign-in"))?)),
        Hook::TokenClaims => {
            match p.token_claims(&call, &serde_json::from_str(input).with_context(|| parse("token-claims"))?) {
                Ok(c) => json!(c),
                Err(e) => json!({ "decision": "deny", "reason": "policy_error", "message": e }),
            }
        }
        Hook::AccountDeletion => {
            json!(p.account_deletion(&call, &serde_json::from_str(input).with_context(|| parse("account-deletion"))?))
        }
    };
    Ok(out)
}
