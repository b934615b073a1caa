//! Registration rules (R3, R4, R8, R10) as a tenant policy: an account-name rule on
//! top of the default one, allowed and denied mobile ranges (e.g. only +86; no IoT
//! data-SIM ranges), a cap on accounts per mobile, and words a password may not hold.

use latchkey_sdk::{Context, Decision, PasswordCheck, Policy, Registration, config, deny, policy};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Mobile prefixes that may register; empty = all.
    allowed_mobile_prefixes: Vec<String>,
    /// Mobile prefixes that may not register (IoT data SIMs).
    denied_mobile_prefixes: Vec<String>,
    /// Accounts one mobile may be bound to; 0 = no cap from this plugin.
    max_accounts_per_mobile: u32,
    /// Shortest account name (characters); 0 = the default rule only.
    min_account_name_length: usize,
    /// Account names that may not be registered (case-insensitive).
    reserved_account_names: Vec<String>,
    /// Words no password may contain (case-insensitive).
    password_denylist: Vec<String>,
}

struct RegistrationRules;

#[policy]
impl Policy for RegistrationRules {
    const NAME: &'static str = "registration-rules";

    fn on_registration(ctx: Context, r: Registration) -> Decision {
        let Ok(c) = config::<Config>(&ctx) else { return deny("policy_config_invalid", "registration-rules: invalid configuration") };
        if let Some(m) = &r.mobile {
            if !c.allowed_mobile_prefixes.is_empty() && !c.allowed_mobile_prefixes.iter().any(|p| m.starts_with(p.as_str())) {
                return deny("mobile_range_not_allowed", "This mobile number range cannot register.");
            }
            if c.denied_mobile_prefixes.iter().any(|p| m.starts_with(p.as_str())) {
                return deny("mobile_range_not_allowed", "This mobile number range cannot register.");
            }
            if c.max_accounts_per_mobile > 0 && r.accounts_on_mobile >= c.max_accounts_per_mobile {
                return deny("too_many_accounts_for_mobile", "This mobile number is bound to too many accounts.");
            }
        }
        if let Some(name) = &r.account_name {
            if name.chars().count() < c.min_account_name_length {
                return deny("account_name_too_short", "The account name is too short.");
            }
            if c.reserved_account_names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return deny("account_name_reserved", "This account name is reserved.");
            }
        }
        Decision::Allow
    }

    fn on_password(ctx: Context, p: PasswordCheck) -> Decision {
        let Ok(c) = config::<Config>(&ctx) else { return deny("policy_config_invalid", "registration-rules: invalid configuration") };
        let lower = p.password.to_lowercase();
        if c.password_denylist.iter().any(|w| !w.is_empty() && lower.contains(&w.to_lowercase())) {
            return deny("password_denied_word", "The password contains a word that is not allowed.");
        }
        Decision::Allow
    }
}
