//! Per-tenant rules: one-time codes, password policy, registration, developer types.
//! A leaf module: it imports no other domain module (`developer` depends on it, not
//! the reverse). Every field has a default, so a tenant without settings gets the
//! documented behaviour.

use serde::{Deserialize, Serialize};

/// All settings of a tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    pub codes: CodeSettings,
    pub password: PasswordPolicy,
    pub registration: RegistrationRules,
    /// Developer types and their entitlements (R11, R13).
    pub developer: DeveloperSettings,
    /// Second factors, remembered devices, failure limits and CAPTCHA (R19, R20).
    pub sign_in: SignInSettings,
    /// Third-party sign-in (R17).
    pub federation: FederationSettings,
    /// How long browser sessions live (R29).
    pub sessions: SessionSettings,
    /// Throttling of wrong device user codes (P8, RFC 8628 §5.1).
    pub device_codes: DeviceCodeSettings,
}

/// Browser session lifetimes (R29). A session ends at its absolute lifetime, or
/// once it has not been used for its idle timeout; a strong (acr 2) session has
/// its own, shorter idle timeout. 0 turns an idle timeout off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Seconds from sign-in to the end of any session (default 12 h); the server's
    /// `session_ttl` caps it.
    pub lifetime: u64,
    /// Seconds an acr 2 session may go unused (default 30 min).
    pub idle_timeout_strong: u64,
    /// Seconds any other session may go unused (default 0: no idle timeout).
    pub idle_timeout: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings { lifetime: 12 * 3600, idle_timeout_strong: 30 * 60, idle_timeout: 0 }
    }
}

/// Limits on wrong device user codes (P8, RFC 8628 §5.1), per account and per IP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceCodeSettings {
    /// Wrong codes in a row on one account before each further try waits (doubling).
    pub backoff_after: u32,
    /// Longest wait between tries, in seconds.
    pub backoff_max: u64,
    /// Wrong codes per account in any hour.
    pub max_failures_per_hour: u32,
    /// Wrong codes from one IP in an hour before it is refused until the hour ends.
    pub max_ip_failures_per_hour: u32,
}

impl Default for DeviceCodeSettings {
    fn default() -> Self {
        DeviceCodeSettings {
            backoff_after: 5,
            backoff_max: 60,
            max_failures_per_hour: 20,
            max_ip_failures_per_hour: 100,
        }
    }
}

/// What a third-party sign-in must add before it continues (R17).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequireContact {
    #[default]
    None,
    Mobile,
    Email,
    /// A mobile or an email, the person's choice.
    Either,
}

/// Third-party sign-in rules of a tenant (R17).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationSettings {
    /// An account signing in through an upstream must have this verified contact;
    /// without it, the person adds it (with a code) before continuing.
    pub require_contact: RequireContact,
}

/// How sign-in is protected (R19, R20).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignInSettings {
    /// Every account gives a second factor (on a device it has not remembered),
    /// whether or not the person turned 2-step verification on.
    pub require_second_factor: bool,
    /// Days "remember this device" skips the second factor; 0 turns the option off.
    pub remember_device_days: u64,
    /// Wrong passwords in a row before each further try must wait (doubling, capped).
    pub backoff_after: u32,
    /// Longest wait between tries, in seconds.
    pub backoff_max: u64,
    /// Failed sign-ins per account in any hour; never more than 100 (NIST SP 800-63B).
    pub max_failures_per_hour: u32,
    /// Wrong passwords in a row on one account before a CAPTCHA is asked.
    pub captcha_after: u32,
    /// Failed sign-ins from one IP in an hour before every sign-in from it needs a CAPTCHA.
    pub captcha_after_ip_failures: u32,
    /// Failed sign-ins from one IP in an hour before it is refused until the hour ends.
    pub max_ip_failures_per_hour: u32,
    /// Proof-of-work difficulty of the CAPTCHA, in bits.
    pub captcha_difficulty: u8,
}

impl Default for SignInSettings {
    fn default() -> Self {
        SignInSettings {
            require_second_factor: false,
            remember_device_days: 30,
            backoff_after: 5,
            backoff_max: 30,
            max_failures_per_hour: 100,
            captcha_after: 3,
            captcha_after_ip_failures: 20,
            max_ip_failures_per_hour: 500,
            captcha_difficulty: 16,
        }
    }
}

impl SignInSettings {
    /// The hourly cap actually applied: the tenant's, but never above 100.
    pub fn failures_per_hour(&self) -> u32 {
        self.max_failures_per_hour.clamp(1, 100)
    }
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

/// The developer types a tenant offers (R11). Default: `enterprise` and `personal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeveloperSettings {
    pub types: Vec<DeveloperType>,
}

/// One developer type: its name, the identity fields it requires, its entitlements.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeveloperType {
    /// Stable name, shown to apps as the `developer_type` claim.
    pub name: String,
    /// Names of the fields a submission of this type must fill (all required).
    pub fields: Vec<String>,
    #[serde(default)]
    pub entitlements: Entitlements,
}

/// What a developer type is entitled to (R13, R14).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Entitlements {
    /// Devices the developer may bind (sub-devices behind a gateway count); `None` = unlimited.
    pub device_quota: Option<u64>,
    /// Support entitlements.
    pub support: bool,
}

impl Default for DeveloperSettings {
    fn default() -> Self {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        DeveloperSettings {
            types: vec![
                DeveloperType {
                    name: "enterprise".into(),
                    fields: names(&["company_name", "address", "contact_number", "licence_number"]),
                    entitlements: Entitlements { device_quota: None, support: true },
                },
                DeveloperType {
                    name: "personal".into(),
                    fields: names(&["real_name", "id_number"]),
                    entitlements: Entitlements { device_quota: Some(300), support: false },
                },
            ],
        }
    }
}

impl DeveloperSettings {
    /// The type called `name`.
    pub fn find(&self, name: &str) -> Option<&DeveloperType> {
        self.types.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    /// The settings stay a leaf: no `crate::` import, so no cycle can run through them.
    #[test]
    fn settings_import_no_domain_module() {
        let source = include_str!("settings.rs");
        let needle = ["use ", "crate::"].concat();
        assert!(!source.contains(&needle), "settings.rs must not import another domain module");
    }
}
