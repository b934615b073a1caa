//! Append-only security events per tenant (who, what, when, from where). Issue 4
//! records plugin changes and plugin failures here; issue 5 adds sign-in events.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::secret;
use crate::store::{Record, Store};

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Seconds since the Unix epoch.
    pub at: u64,
    /// Who acted: an account id, "admin", or "plugin:<name>".
    pub actor: String,
    /// What happened, a stable code (`plugin_installed`, `policy_error`, ...).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

impl Record for AuditEvent {
    const TREE: &'static str = "audit";
    const VERSION: u32 = 1;
}

/// Orders events recorded in the same second by this process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Appends an event; keys sort by time (then by order within this process), so a
/// scan reads them in order.
pub fn record(store: &Store, tenant: &str, event: &AuditEvent) -> Result<()> {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let id = format!("{:020}-{seq:016}-{}", event.at, secret::token_of(6));
    store.put(tenant, &id, event)
}

/// The newest `limit` events, newest first.
pub fn recent(store: &Store, tenant: &str, limit: usize) -> Result<Vec<AuditEvent>> {
    let all = store.scan::<AuditEvent>(tenant, "")?;
    Ok(all.into_iter().rev().take(limit).map(|(_, e)| e).collect())
}
