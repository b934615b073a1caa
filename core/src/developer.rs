//! Developer profiles (R11 to R14): the developer types a tenant offers, each
//! developer's submission of identity fields, and the review state machine
//! (not submitted -> pending -> approved | rejected{reason}; pending and rejected may
//! be edited and resubmitted; approved is read-only). The claims apps see come from here.
//!
//! The review decision is a separate step (`approve`/`reject`) on purpose: a policy
//! plugin that decides a submission automatically calls `approve` or `reject` right
//! after `submit` returns the stored submission, with itself as the reviewer.

mod durable;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::error::{Error, Field, Refusal, Resource, Result};
use crate::settings::TenantSettings;
use crate::store::{Record, Store};

// The developer types are tenant settings (this module depends on `settings`, never
// the other way); re-exported so callers keep naming them from here.
pub use crate::settings::{DeveloperSettings, DeveloperType, Entitlements};

/// Longest value of one identity field, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Longest rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// The denial reason when an approved developer tries to change identity fields.
pub const IDENTITY_LOCKED: &str = "identity_locked";

impl DeveloperType {
    /// Checks a submission's fields against this type (R11): every required field
    /// present and non-empty after trimming, at most `MAX_FIELD_CHARS`, none unknown.
    /// Returns the trimmed fields.
    pub fn check(&self, fields: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
        if let Some(unknown) = fields.keys().find(|k| !self.fields.contains(k)) {
            return Err(Error::invalid(Field::Fields, format!("{unknown} is not a field of type {}", self.name)));
        }
        let mut out = BTreeMap::new();
        for name in &self.fields {
            let value = fields.get(name).map(|v| v.trim()).unwrap_or("");
            if value.is_empty() {
                return Err(Error::invalid(Field::Fields, format!("{name} is required")));
            }
            if value.chars().count() > MAX_FIELD_CHARS {
                return Err(Error::invalid(
                    Field::Fields,
                    format!("{name} is longer than {MAX_FIELD_CHARS} characters"),
                ));
            }
            out.insert(name.clone(), value.to_string());
        }
        Ok(out)
    }
}

/// Where a developer's review stands (R12).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReviewState {
    #[default]
    NotSubmitted,
    Pending,
    Approved,
    Rejected {
        reason: String,
    },
}

impl ReviewState {
    /// The `review_status` claim value.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewState::NotSubmitted => "not_submitted",
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Rejected { .. } => "rejected",
        }
    }
}

/// A review decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// One account's developer submission. An account that never submitted has the
/// default one (`not_submitted`, no type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub account_id: String,
    pub developer_type: Option<String>,
    pub fields: BTreeMap<String, String>,
    #[serde(flatten)]
    pub state: ReviewState,
    pub submitted_at: Option<u64>,
    pub decided_at: Option<u64>,
    /// Who decided: an admin reviewer name, or a policy plugin.
    pub decided_by: Option<String>,
}

impl Record for Submission {
    const TREE: &'static str = "developer_submissions";
    const VERSION: u32 = 1;
}

impl Submission {
    fn blank(account_id: &str) -> Self {
        Submission { account_id: account_id.to_string(), ..Default::default() }
    }

    /// Submits or resubmits (R12): allowed unless approved; the result is pending.
    pub fn resubmit(&mut self, type_name: &str, fields: BTreeMap<String, String>, now: u64) -> Result<()> {
        if self.state == ReviewState::Approved {
            return Err(Error::denied(IDENTITY_LOCKED));
        }
        self.developer_type = Some(type_name.to_string());
        self.fields = fields;
        self.state = ReviewState::Pending;
        self.submitted_at = Some(now);
        self.decided_at = None;
        self.decided_by = None;
        Ok(())
    }

    /// Applies a review decision; only a pending submission can be decided.
    pub fn decide(&mut self, decision: Decision, reviewer: &str, now: u64) -> Result<()> {
        if self.state != ReviewState::Pending {
            return Err(Error::Refused(Refusal::ReviewNotPending));
        }
        self.state = match decision {
            Decision::Approve => ReviewState::Approved,
            Decision::Reject { reason } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(Error::invalid(Field::Reason, "a reason is required"));
                }
                if reason.chars().count() > MAX_REASON_CHARS {
                    return Err(Error::invalid(Field::Reason, format!("at most {MAX_REASON_CHARS} characters")));
                }
                ReviewState::Rejected { reason: reason.to_string() }
            }
        };
        self.decided_at = Some(now);
        self.decided_by = Some(reviewer.to_string());
        Ok(())
    }

    /// The claims apps see (R14): `developer_type` (null before a submission),
    /// `review_status`, and, once a type is chosen, its entitlements `device_quota`
    /// (null = unlimited) and `developer_support`.
    pub fn claims(&self, settings: &DeveloperSettings) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("developer_type".into(), json!(self.developer_type));
        m.insert("review_status".into(), json!(self.state.as_str()));
        if let Some(t) = self.developer_type.as_deref().and_then(|n| settings.find(n)) {
            m.insert("device_quota".into(), json!(t.entitlements.device_quota));
            m.insert("developer_support".into(), json!(t.entitlements.support));
        }
        m
    }
}

/// Developer submissions and their review.
pub struct Developers {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Developers {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Developers { store, clock }
    }

    /// The account's submission (the default `not_submitted` one if none).
    pub async fn get(&self, tenant: &str, account_id: &str) -> Result<Submission> {
        Ok(self.store.get::<Submission>(tenant, account_id).await?.unwrap_or_else(|| Submission::blank(account_id)))
    }

    /// The account's developer identity as policy hooks see it.
    pub async fn facts(&self, tenant: &str, account_id: &str) -> Result<crate::device::DeveloperFacts> {
        let s = self.get(tenant, account_id).await?;
        Ok(crate::device::DeveloperFacts {
            developer_type: s.developer_type,
            review_status: s.state.as_str().to_string(),
        })
    }

    /// Submits or resubmits the identity fields of `type_name` (R11, R12); returns
    /// the stored, pending submission. An approved developer gets `identity_locked`.
    pub async fn submit(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        type_name: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<Submission> {
        let ty = settings
            .developer
            .find(type_name)
            .ok_or_else(|| Error::invalid(Field::DeveloperType, format!("{type_name} is not a developer type")))?;
        let fields = ty.check(fields)?;
        let now = self.clock.now();
        self.store
            .update::<Submission, _>(tenant, account_id, |old| {
                let mut s = old.unwrap_or_else(|| Submission::blank(account_id));
                s.resubmit(type_name, fields.clone(), now)?;
                Ok((Some(s.clone()), s))
            })
            .await
    }

    /// Pending submissions, oldest first.
    pub async fn list_pending(&self, tenant: &str) -> Result<Vec<Submission>> {
        let mut v: Vec<Submission> = self
            .store
            .scan::<Submission>(tenant, "")
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.state == ReviewState::Pending)
            .collect();
        v.sort_by_key(|s| s.submitted_at);
        Ok(v)
    }

    async fn decide(&self, tenant: &str, account_id: &str, decision: Decision, reviewer: &str) -> Result<Submission> {
        let now = self.clock.now();
        self.store
            .update::<Submission, _>(tenant, account_id, |old| {
                let mut s = old.ok_or(Error::NotFound(Resource::DeveloperSubmission))?;
                s.decide(decision.clone(), reviewer, now)?;
                Ok((Some(s.clone()), s))
            })
            .await
    }

    /// Approves a pending submission; its identity fields become read-only.
    pub async fn approve(&self, tenant: &str, account_id: &str, reviewer: &str) -> Result<Submission> {
        self.decide(tenant, account_id, Decision::Approve, reviewer).await
    }

    /// Rejects a pending submission with a reason (required, at most 500 characters)
    /// that the developer sees.
    pub async fn reject(&self, tenant: &str, account_id: &str, reviewer: &str, reason: &str) -> Result<Submission> {
        self.decide(tenant, account_id, Decision::Reject { reason: reason.to_string() }, reviewer).await
    }

    /// The developer claims of an account for tokens and userinfo (R14).
    pub async fn claims(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
    ) -> Result<Map<String, Value>> {
        Ok(self.get(tenant, account_id).await?.claims(&settings.developer))
    }
}

impl Developers {
    /// Submits after the tenant's developer-submission hook (R12, W1): a denial
    /// stores nothing; a plugin may approve or reject at once (decided by
    /// `policy:<plugin chain>`); otherwise the submission waits for a human.
    #[allow(clippy::too_many_arguments)]
    pub async fn submit_with_policy(
        &self,
        policy: &crate::policy::PolicyHost,
        facts: &crate::policy::Facts,
        tenant: &str,
        settings: &TenantSettings,
        account_id: &str,
        type_name: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<Submission> {
        use crate::policy::{SubmissionDecision, SubmissionInput};
        let input = SubmissionInput {
            account_id: account_id.to_string(),
            developer_type: type_name.to_string(),
            fields: fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let decision = policy.developer_submission(tenant, facts, &input).await;
        if let SubmissionDecision::Deny { reason, message } = decision {
            return Err(Error::PluginDenied { reason, message });
        }
        let submitted = self.submit(tenant, settings, account_id, type_name, fields).await?;
        match decision {
            SubmissionDecision::Approve => self.approve(tenant, account_id, "policy").await,
            SubmissionDecision::Reject { reason } => self.reject(tenant, account_id, "policy", &reason).await,
            _ => Ok(submitted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn enterprise() -> BTreeMap<String, String> {
        fields(&[
            ("company_name", "Acme IoT Ltd"),
            ("address", "1 Road, Shenzhen"),
            ("contact_number", "+8675500000000"),
            ("licence_number", "91440300MA5XXXXX"),
        ])
    }

    async fn setup() -> (Developers, TenantSettings, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (Developers::new(store, Arc::new(ManualClock::new())), TenantSettings::default(), dir)
    }

    #[test]
    fn r11_default_types_and_their_required_fields() {
        let d = DeveloperSettings::default();
        let ent = d.find("enterprise").unwrap();
        assert_eq!(ent.fields, ["company_name", "address", "contact_number", "licence_number"]);
        assert_eq!(ent.entitlements, Entitlements { device_quota: None, support: true });
        let per = d.find("personal").unwrap();
        assert_eq!(per.fields, ["real_name", "id_number"]);
        assert_eq!(per.entitlements.device_quota, Some(300));
    }

    #[test]
    fn r11_fields_are_checked_against_the_type() {
        let d = DeveloperSettings::default();
        let ent = d.find("enterprise").unwrap();
        assert!(ent.check(&enterprise()).is_ok());
        let mut missing = enterprise();
        missing.remove("licence_number");
        assert!(matches!(ent.check(&missing), Err(Error::Invalid { field: Field::Fields, .. })));
        let mut blank = enterprise();
        blank.insert("address".into(), "   ".into());
        assert!(ent.check(&blank).is_err());
        let mut long = enterprise();
        long.insert("address".into(), "x".repeat(MAX_FIELD_CHARS + 1));
        assert!(ent.check(&long).is_err());
        let mut unknown = enterprise();
        unknown.insert("real_name".into(), "Li Lei".into());
        assert!(ent.check(&unknown).is_err(), "a field of another type is unknown here");
        let trimmed =
            d.find("personal").unwrap().check(&fields(&[("real_name", " Li Lei "), ("id_number", "1101")])).unwrap();
        assert_eq!(trimmed["real_name"], "Li Lei");
    }

    #[test]
    fn r12_state_machine() {
        let mut s = Submission::blank("a1");
        assert_eq!(s.state.as_str(), "not_submitted");
        assert!(s.decide(Decision::Approve, "rev", 1).is_err(), "nothing to decide before a submission");
        s.resubmit("personal", fields(&[("real_name", "A")]), 2).unwrap();
        assert_eq!(s.state, ReviewState::Pending);
        assert!(s.decide(Decision::Reject { reason: " ".into() }, "rev", 3).is_err(), "a reason is required");
        assert!(s.decide(Decision::Reject { reason: "x".repeat(MAX_REASON_CHARS + 1) }, "rev", 3).is_err());
        s.decide(Decision::Reject { reason: "blurred licence".into() }, "rev", 3).unwrap();
        assert_eq!(s.state, ReviewState::Rejected { reason: "blurred licence".into() });
        assert_eq!(s.decided_by.as_deref(), Some("rev"));
        assert!(
            matches!(s.decide(Decision::Approve, "rev", 4), Err(Error::Refused(Refusal::ReviewNotPending))),
            "only pending is decided"
        );
        s.resubmit("enterprise", fields(&[("company_name", "B")]), 5).unwrap();
        assert_eq!((s.state.clone(), s.decided_at, s.submitted_at), (ReviewState::Pending, None, Some(5)));
        s.decide(Decision::Approve, "rev", 6).unwrap();
        assert_eq!(s.state, ReviewState::Approved);
        let e = s.resubmit("enterprise", fields(&[("company_name", "C")]), 7).unwrap_err();
        assert_eq!((e.code(), e.to_string().contains(IDENTITY_LOCKED)), ("policy_denied", true));
        assert_eq!(s.fields["company_name"], "B", "approved fields are read-only");
    }

    #[test]
    fn r14_claims_follow_the_type_and_state() {
        let d = DeveloperSettings::default();
        let c = Submission::blank("a").claims(&d);
        assert_eq!(Value::Object(c), json!({ "developer_type": null, "review_status": "not_submitted" }));
        let mut s = Submission::blank("a");
        s.resubmit("personal", BTreeMap::new(), 1).unwrap();
        s.decide(Decision::Approve, "r", 2).unwrap();
        assert_eq!(
            Value::Object(s.claims(&d)),
            json!({ "developer_type": "personal", "review_status": "approved", "device_quota": 300, "developer_support": false })
        );
    }

    #[tokio::test]
    async fn r12_stored_review_round_trip() {
        let (dev, settings, _dir) = setup().await;
        assert_eq!(dev.get("t", "a1").await.unwrap().state, ReviewState::NotSubmitted);
        let e = dev.submit("t", &settings, "a1", "company", &enterprise()).await.unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        let mut missing = enterprise();
        missing.remove("address");
        assert_eq!(dev.submit("t", &settings, "a1", "enterprise", &missing).await.unwrap_err().code(), "invalid_input");
        assert_eq!(
            dev.get("t", "a1").await.unwrap().state,
            ReviewState::NotSubmitted,
            "a refused submission stores nothing"
        );
        let s = dev.submit("t", &settings, "a1", "enterprise", &enterprise()).await.unwrap();
        assert_eq!(s.state, ReviewState::Pending);
        dev.submit("t", &settings, "a2", "personal", &fields(&[("real_name", "Li"), ("id_number", "1")]))
            .await
            .unwrap();
        let pending: Vec<String> = dev.list_pending("t").await.unwrap().into_iter().map(|s| s.account_id).collect();
        assert_eq!(pending.len(), 2);
        assert!(dev.list_pending("other").await.unwrap().is_empty(), "tenants are separate");
        assert_eq!(dev.approve("t", "nobody", "rev").await.unwrap_err().code(), "not_found");
        dev.reject("t", "a1", "rev", "licence unreadable").await.unwrap();
        assert_eq!(
            dev.get("t", "a1").await.unwrap().state,
            ReviewState::Rejected { reason: "licence unreadable".into() }
        );
        dev.submit("t", &settings, "a1", "enterprise", &enterprise()).await.unwrap();
        dev.approve("t", "a1", "rev").await.unwrap();
        assert_eq!(dev.list_pending("t").await.unwrap().len(), 1);
        assert_eq!(
            dev.submit("t", &settings, "a1", "enterprise", &enterprise()).await.unwrap_err().code(),
            "policy_denied"
        );
        let claims = dev.claims("t", &settings, "a1").await.unwrap();
        assert_eq!(claims["device_quota"], Value::Null, "enterprise: unlimited");
        assert_eq!(claims["review_status"], "approved");
    }
}
