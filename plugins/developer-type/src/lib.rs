//! Developer types (R11 to R14): enterprise and personal, the fields each requires,
//! and the claims apps see: `developer_type`, `review_status`, `device_quota`, for
//! tokens with the `profile` or `developer` scope.

use std::collections::BTreeMap;

use latchkey_sdk::{Claims, Context, DeveloperSubmission, Policy, SubmissionDecision, TokenClaimsInput, config, policy};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Developer type -> its required fields.
    types: BTreeMap<String, Vec<String>>,
    /// Developer type -> device quota (null = unlimited).
    quotas: BTreeMap<String, Option<u64>>,
}

impl Default for Config {
    fn default() -> Self {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Config {
            types: BTreeMap::from([
                ("enterprise".into(), f(&["company_name", "address", "contact_number", "licence_number"])),
                ("personal".into(), f(&["real_name", "id_number"])),
            ]),
            quotas: BTreeMap::from([("personal".into(), Some(300)), ("enterprise".into(), None)]),
        }
    }
}

struct DeveloperType;

#[policy]
impl Policy for DeveloperType {
    const NAME: &'static str = "developer-type";

    fn on_developer_submission(ctx: Context, s: DeveloperSubmission) -> SubmissionDecision {
        let deny = |reason: &str, message: String| SubmissionDecision::Deny(latchkey_sdk::Denial { reason: reason.into(), message });
        let Ok(c) = config::<Config>(&ctx) else { return deny("policy_config_invalid", "developer-type: invalid configuration".into()) };
        let Some(required) = c.types.get(&s.developer_type) else {
            return deny("unknown_developer_type", format!("{} is not a developer type here", s.developer_type));
        };
        for field in required {
            if !s.fields.iter().any(|(k, v)| k == field && !v.trim().is_empty()) {
                return deny("missing_field", format!("{field} is required"));
            }
        }
        if let Some((k, _)) = s.fields.iter().find(|(k, _)| !required.contains(k)) {
            return deny("unknown_field", format!("{k} is not a field of {}", s.developer_type));
        }
        SubmissionDecision::Accept
    }

    fn on_token_claims(ctx: Context, t: TokenClaimsInput) -> Claims {
        // R14: the developer claims are released by the `profile` or `developer` scope only.
        if !t.scopes.iter().any(|s| s == "profile" || s == "developer") {
            return Claims { id_token: "{}".into(), access_token: "{}".into(), userinfo: "{}".into() };
        }
        let c = config::<Config>(&ctx).unwrap_or_default();
        let quota = t.developer_type.as_ref().and_then(|ty| c.quotas.get(ty).copied().flatten());
        let claims = json!({
            "developer_type": t.developer_type,
            "review_status": t.review_status,
            "device_quota": quota,
        })
        .to_string();
        Claims { id_token: claims.clone(), access_token: "{}".into(), userinfo: claims }
    }
}
