//! Delivering messages: the configured sender (`file`, `smtp` or `sms-webhook` for
//! mobile numbers) behind core's `Outbox` trait, with texts rendered per locale.

mod file;
pub mod render;

use std::path::Path;
use std::sync::Arc;

use latchkey_core::code::Outbox;
use serde::{Deserialize, Serialize};

/// `[outbox]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Where email goes: "file" (default) or "smtp".
    pub email: String,
    /// Where SMS and voice messages go: "file" (default) or "sms-webhook".
    pub sms: String,
    /// For "file": the JSON-lines file, relative to the data directory.
    pub file: String,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig { email: "file".into(), sms: "file".into(), file: "outbox.jsonl".into() }
    }
}

/// Builds the outbox the configuration names.
pub fn from_config(config: &OutboxConfig, data_dir: &Path) -> anyhow::Result<Arc<dyn Outbox>> {
    let file = Arc::new(file::FileOutbox::new(data_dir.join(&config.file)));
    match (config.email.as_str(), config.sms.as_str()) {
        ("file", "file") => Ok(file),
        (e, s) => anyhow::bail!("outbox: unknown sender email = {e:?}, sms = {s:?} (expected \"file\")"),
    }
}
