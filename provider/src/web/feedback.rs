//! What a page says when a core service refuses: one localized sentence per domain
//! error (the stable code stays in the status), and the tenant's password rules.

use axum::http::StatusCode;
use latchkey_core::Error;
use latchkey_core::settings::PasswordPolicy;

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

/// The page text for a refusal, or the error itself when it is the server's fault
/// (answered as a 500 without details).
pub fn failure(page: &Page, policy: &PasswordPolicy, e: Error) -> Result<Failure, Error> {
    let status = match &e {
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::BadCredentials => StatusCode::UNAUTHORIZED,
        Error::PolicyDenied { .. } | Error::PluginDenied { .. } | Error::Refused(_) => StatusCode::FORBIDDEN,
        Error::ProofRequired | Error::ReauthenticationRequired => StatusCode::FORBIDDEN,
        Error::IdentifierTaken(_) => StatusCode::CONFLICT,
        Error::Delivery(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let key = match e {
        Error::BadCredentials => "current_password_wrong",
        Error::SeveralAccounts(_) => "several_accounts",
        Error::CodeInvalid | Error::CodeExpired | Error::CodeAttemptsExceeded => "code_wrong",
        Error::CaptchaRequired => "captcha_required",
        Error::CaptchaFailed => "captcha_failed",
        Error::ProofRequired => "proof_required",
        Error::ReauthenticationRequired => "reauthentication_required",
        Error::Delivery(cause) => {
            tracing::warn!(%cause, "message delivery failed");
            "delivery_failed"
        }
        Error::RateLimited { retry_after } => {
            let text = fill(page.text("rate_limited_in"), &[("s", &retry_after.to_string())]);
            return Ok(Failure { status, text });
        }
        // A tenant plugin's own message reaches the person as it is (W2).
        Error::PluginDenied { message, .. } => return Ok(Failure { status, text: message }),
        Error::PolicyDenied { reason } => match reason.as_str() {
            "mobile_range_not_allowed" => "denied_mobile_range",
            "too_many_accounts_for_mobile" => "denied_too_many_accounts",
            "registration_closed" => "denied_registration_closed",
            // A tenant plugin's own reason reaches the person as it is (W2).
            other => return Ok(Failure { status, text: fill(page.text("denied_other"), &[("reason", other)]) }),
        },
        Error::IdentifierTaken(what) => match what {
            "mobile" => "taken_mobile",
            "email" => "taken_email",
            "account name" => "taken_account_name",
            _ => "taken_other",
        },
        Error::Invalid { field, .. } => match field {
            "mobile" => "invalid_mobile",
            "email" => "invalid_email",
            "account_name" => "invalid_account_name",
            "identifier" => "invalid_identifier",
            "value" => "invalid_same_value",
            "current_code" => "invalid_current_code",
            "address" => "invalid_address",
            "password" => {
                let text = format!("{} {}", page.text("invalid_password"), password_rules(page, policy));
                return Ok(Failure { status, text });
            }
            other => return Ok(Failure { status, text: fill(page.text("invalid_field"), &[("field", other)]) }),
        },
        e if e.is_internal() => return Err(e),
        _ => "try_again",
    };
    Ok(Failure { status, text: page.text(key).to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        assert_eq!(fill("in {s} s ({s})", &[("s", "30")]), "in 30 s (30)");
    }
}
