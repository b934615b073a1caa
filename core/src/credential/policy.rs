//! The tenant's password rules (R4): length, character classes, not the account
//! name. History is checked by the caller against stored hashes.

use crate::error::{Error, Field, Result};
use crate::settings::PasswordPolicy;

/// How many of letters, digits and symbols (printable, non-space) `pw` mixes.
fn classes(pw: &str) -> u8 {
    let letters = pw.chars().any(char::is_alphabetic);
    let digits = pw.chars().any(|c| c.is_ascii_digit());
    let symbols = pw.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control());
    u8::from(letters) + u8::from(digits) + u8::from(symbols)
}

/// Checks a new password against the policy.
pub fn check(policy: &PasswordPolicy, password: &str, account_name: Option<&str>) -> Result<()> {
    let n = password.chars().count();
    if n < policy.min_length || n > policy.max_length {
        return Err(Error::invalid(
            Field::Password,
            format!("must be {} to {} characters", policy.min_length, policy.max_length),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::invalid(Field::Password, "may not contain control characters"));
    }
    if classes(password) < policy.min_classes {
        return Err(Error::invalid(
            Field::Password,
            format!("must mix at least {} of letters, digits and symbols", policy.min_classes),
        ));
    }
    if policy.not_account_name && account_name.is_some_and(|name| name.eq_ignore_ascii_case(password)) {
        return Err(Error::invalid(Field::Password, "may not be the account name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r4_default_policy_is_nist_length_only() {
        let p = PasswordPolicy::default();
        assert!(check(&p, "short", None).is_err());
        assert!(check(&p, "alllowercaseletters", None).is_ok());
        assert!(check(&p, &"x".repeat(65), None).is_err());
        assert!(check(&p, "dev-team-01", Some("dev-team-01")).is_err());
    }

    #[test]
    fn r4_console_rules_as_settings() {
        let p = PasswordPolicy { min_length: 7, max_length: 20, min_classes: 2, ..PasswordPolicy::default() };
        assert!(check(&p, "abcdefgh", None).is_err());
        assert!(check(&p, "abcdef1", None).is_ok());
        assert!(check(&p, "abc!def", None).is_ok());
        assert!(check(&p, &"a1".repeat(11), None).is_err());
    }
}
