//! What a page says when a core service refuses: one localized sentence per domain
//! error (the stable code stays in the status), and the tenant's password rules.

use axum::http::StatusCode;
use latchkey_core::Error;
use latchkey_core::settings::PasswordPolicy;

use crate::web::error::{Text, table};
use crate::web::page::Page;

/// A refusal shown on the page that was submitted.
pub struct Failure {
    pub status: StatusCode,
    pub text: String,
}

/// Replaces each `{name}` in `text` with its value.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_string(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

/// The tenant's password rules as one sentence (R4), shown next to a new password
/// and when one is refused.
pub fn password_rules(page: &Page, policy: &PasswordPolicy) -> String {
    let (min, max) = (policy.min_length.to_string(), policy.max_length.to_string());
    let mut parts = vec![fill(page.text("pw_rule_length"), &[("min", &min), ("max", &max)])];
    if policy.min_classes > 0 {
        parts.push(fill(page.text("pw_rule_classes"), &[("n", &policy.min_classes.to_string())]));
    }
    if policy.not_account_name {
        parts.push(page.text("pw_rule_name").to_string());
    }
    if policy.history > 0 {
        parts.push(fill(page.text("pw_rule_history"), &[("n", &policy.history.to_string())]));
    }
    format!("{}{}{}", page.text("pw_rules"), parts.join(page.text("list_sep")), page.text("sentence_end"))
}

/// The page text for a refusal (from the edge table, `web::error::table`), or the
/// error itself when it is the server's fault (answered as a 500 without details).
pub fn failure(page: &Page, policy: &PasswordPolicy, e: Error) -> Result<Failure, Error> {
    if e.is_internal() {
        return Err(e);
    }
    if let Error::Delivery(cause) = &e {
        tracing::warn!(%cause, "message delivery failed");
    }
    let status = table::status(&e);
    let text = match table::text(&e) {
        Text::Verbatim(message) => message,
        Text::Key("invalid_password", _) => {
            format!("{} {}", page.text("invalid_password"), password_rules(page, policy))
        }
        Text::Key(key, values) => {
            let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fill(page.text(key), &values)
        }
    };
    Ok(Failure { status, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        assert_eq!(fill("in {s} s ({s})", &[("s", "30")]), "in 30 s (30)");
    }
}
