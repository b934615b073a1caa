//! Append-only security events per tenant (who, what, when, from where). Issue 4
//! records plugin changes and plugin failures here; issue 5 adds sign-in events.
//!
//! One way to write an event: build it with `AuditEvent::new` and its setters, then
//! `record` it. Error policy: an audit write that fails fails the operation it
//! belongs to (the caller returns the error before answering, so nothing security
//! relevant happens unrecorded). The only exception is a policy hook's own failure
//! report (`policy::PolicyHost`), whose answer is already a denial: it logs instead.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::secret;
use crate::store::{Record, Store, Tx, TxResult};

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

impl AuditEvent {
    /// An event at `at` by `actor`; subject, IP, client and detail are added with
    /// the setters below.
    pub fn new(at: u64, actor: &str, action: &str) -> AuditEvent {
        AuditEvent {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: None,
            ip: None,
            client: None,
            detail: Value::Null,
        }
    }

    /// Whom or what the event is about.
    pub fn subject(mut self, subject: Option<&str>) -> AuditEvent {
        self.subject = subject.map(str::to_string);
        self
    }

    /// The request's IP.
    pub fn ip(mut self, ip: Option<&str>) -> AuditEvent {
        self.ip = ip.map(str::to_string);
        self
    }

    /// The client the request came through.
    pub fn client(mut self, client: Option<&str>) -> AuditEvent {
        self.client = client.map(str::to_string);
        self
    }

    /// Free-form details (never a secret).
    pub fn detail(mut self, detail: Value) -> AuditEvent {
        self.detail = detail;
        self
    }
}

impl Record for AuditEvent {
    const TREE: &'static str = "audit";
    const VERSION: u32 = 1;
}

/// Orders events recorded in the same second by this process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Appends an event; keys sort by time (then by order within this process), so a
/// scan reads them in order. An error here fails the caller's operation (see the
/// module's error policy); the caller makes the event durable with its other writes.
pub async fn record(store: &Store, tenant: &str, event: &AuditEvent) -> Result<()> {
    store.put(tenant, &new_id(event), event).await
}

/// A fresh event id (see [`record`]), drawn outside a transaction that may re-run.
pub fn new_id(event: &AuditEvent) -> String {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{:020}-{seq:016}-{}", event.at, secret::token_of(6))
}

/// [`record`] inside a transaction over [`AuditEvent`], under an id from [`new_id`].
pub async fn record_in(tx: &Tx<'_>, tenant: &str, id: &str, event: &AuditEvent) -> TxResult<()> {
    tx.put(tenant, id, event).await
}

/// The newest `limit` events, newest first.
pub async fn recent(store: &Store, tenant: &str, limit: usize) -> Result<Vec<AuditEvent>> {
    let all = store.scan::<AuditEvent>(tenant, "").await?;
    Ok(all.into_iter().rev().take(limit).map(|(_, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn o4_events_built_and_recorded_read_back_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let first = AuditEvent::new(10, "acct1", "device_code_wrong").ip(Some("10.0.0.1"));
        let second = AuditEvent::new(11, "admin", "plugin_installed")
            .subject(Some("p"))
            .client(Some("web"))
            .detail(serde_json::json!({ "hook": "sign-in" }));
        record(&store, "t", &first).await.unwrap();
        record(&store, "t", &second).await.unwrap();
        assert_eq!((first.ip.as_deref(), second.ip.as_deref()), (Some("10.0.0.1"), None));
        assert_eq!(recent(&store, "t", 10).await.unwrap(), vec![second.clone(), first.clone()]);
        assert_eq!(recent(&store, "t", 1).await.unwrap(), vec![second]);
        assert!(recent(&store, "other", 10).await.unwrap().is_empty());
    }
}
