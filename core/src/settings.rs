//! Per-tenant rules: one-time codes, password policy, registration. Every field has
//! a default, so a tenant without settings gets the documented behaviour.

use serde::{Deserialize, Serialize};

use crate::developer::DeveloperSettings;

/// All settings of a tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    pub codes: CodeSettings,
    pub password: PasswordPolicy,
    pub registration: RegistrationRules,
    /// Developer types and their entitlements (R11, R13).
    pub developer: DeveloperSettings,
}

/// One-time code limits (R37).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeSettings {
    /// Seconds a code stays valid.
    pub lifetime: u64,
    /// Wrong tries before a code is dead.
    pub max_attempts: u32,
    /// Seconds before another code may be sent to the same mobile or email.
    pub resend_cooldown: u64,
    /// Codes per mobile number per day.
    pub daily_per_mobile: u32,
    /// Codes per email address per day.
    pub daily_per_email: u32,
    /// Codes per client IP per day.
    pub daily_per_ip: u32,
}

impl Default for CodeSettings {
    fn default() -> Self {
        CodeSettings {
            lifetime: 600,
            max_attempts: 5,
            resend_cooldown: 60,
            daily_per_mobile: 10,
            daily_per_email: 20,
            daily_per_ip: 50,
        }
    }
}

/// Password rules (R4). Defaults follow NIST SP 800-63B: 8 to 64 characters, no
/// composition rule; stricter console rules are settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// How many of letters, digits and symbols a password must mix (0 to 3).
    pub min_classes: u8,
    /// Refuse a password equal to the account name.
    pub not_account_name: bool,
    /// Refuse the last N passwords.
    pub history: usize,
    /// Days after which sign-in suggests (does not force) a change; 0 = never.
    pub max_age_days: u64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 64,
            min_classes: 0,
            not_account_name: true,
            history: 3,
            max_age_days: 0,
        }
    }
}

/// Who may register and how (R3, R8, R9, R10).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationRules {
    /// Open self-registration (pages and API).
    pub enabled: bool,
    /// Mobile number prefixes that may register (E.164, e.g. "+86"); empty = all.
    pub allowed_mobile_prefixes: Vec<String>,
    /// Prefixes that may not register (e.g. IoT data-SIM ranges).
    pub denied_mobile_prefixes: Vec<String>,
    /// How many accounts one mobile number may be bound to (any role).
    pub max_accounts_per_mobile: usize,
    /// A new owner who proves possession of a registered number may take its login
    /// role over (recycled numbers, R9).
    pub allow_number_takeover: bool,
}

impl Default for RegistrationRules {
    fn default() -> Self {
        RegistrationRules {
            enabled: true,
            allowed_mobile_prefixes: Vec::new(),
            denied_mobile_prefixes: Vec::new(),
            max_accounts_per_mobile: 5,
            allow_number_takeover: true,
        }
    }
}

impl RegistrationRules {
    /// Refuses a mobile number outside the allowed ranges or inside a denied one.
    pub fn mobile_allowed(&self, phone: &str) -> bool {
        let allowed = self.allowed_mobile_prefixes.is_empty()
            || self.allowed_mobile_prefixes.iter().any(|p| phone.starts_with(p));
        allowed && !self.denied_mobile_prefixes.iter().any(|p| phone.starts_with(p))
    }
}
