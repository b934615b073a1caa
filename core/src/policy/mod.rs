//! Tenant policies (W1 to W6): the hooks services call, the decisions plugins give,
//! and the merge of a tenant's ordered plugin chain. Services call `PolicyHost`; the
//! wasmtime host (`wasm`) is the plugin implementation behind the `Plugin` trait.

mod chain;
mod installed;
pub mod wasm;

use serde::{Deserialize, Serialize};

pub use chain::Chain;
pub use installed::{InstalledPlugin, PolicyHost};

/// The reason code of every plugin failure (trap, timeout, memory, nonsense).
pub const POLICY_ERROR: &str = "policy_error";

/// Facts every hook receives.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub client_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
}

/// A hook's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny { reason: String, message: String },
    Require { requirement: Requirement },
}

impl Decision {
    pub fn deny(reason: &str, message: &str) -> Self {
        Decision::Deny { reason: reason.into(), message: message.into() }
    }

    /// `Ok` for allow; a denial becomes `Error::PluginDenied`. A requirement (second
    /// factor, CAPTCHA) this call site cannot satisfy is a denial too: fail closed.
    pub fn into_result(self) -> crate::error::Result<()> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny { reason, message } => Err(crate::error::Error::PluginDenied { reason, message }),
            Decision::Require { requirement } => Err(crate::error::Error::PluginDenied {
                reason: format!(
                    "{}_required",
                    match requirement {
                        Requirement::SecondFactor => "second_factor",
                        Requirement::Captcha => "captcha",
                    }
                ),
                message: "This step needs a check this server cannot offer yet.".into(),
            }),
        }
    }

    /// The failure of a plugin: never an allow.
    pub fn policy_error(detail: &str) -> Self {
        Decision::deny(POLICY_ERROR, detail)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    SecondFactor,
    Captcha,
}

/// A plugin's answer to a developer submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum SubmissionDecision {
    Accept,
    Deny { reason: String, message: String },
    Approve,
    Reject { reason: String },
}

/// The hooks of the WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    Registration,
    Password,
    DeveloperSubmission,
    DeviceBinding,
    SignIn,
    TokenClaims,
    AccountDeletion,
}

impl Hook {
    pub const ALL: [Hook; 7] = [
        Hook::Registration,
        Hook::Password,
        Hook::DeveloperSubmission,
        Hook::DeviceBinding,
        Hook::SignIn,
        Hook::TokenClaims,
        Hook::AccountDeletion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Registration => "registration",
            Hook::Password => "password",
            Hook::DeveloperSubmission => "developer-submission",
            Hook::DeviceBinding => "device-binding",
            Hook::SignIn => "sign-in",
            Hook::TokenClaims => "token-claims",
            Hook::AccountDeletion => "account-deletion",
        }
    }

    pub fn parse(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.as_str() == s || h.as_str().replace('-', "_") == s)
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub hooks: Vec<Hook>,
}

/// Inputs of the hooks, as the host hands them in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationInput {
    pub method: String,
    pub account_name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub accounts_on_mobile: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordInput {
    pub password: String,
    pub account_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubmissionInput {
    pub account_id: String,
    pub developer_type: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceBindingInput {
    pub account_id: String,
    pub developer_type: Option<String>,
    pub review_status: String,
    pub device_count: u64,
    pub device_kind: String,
    pub gateway: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignInInput {
    pub account_id: String,
    pub method: String,
    pub new_device: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimsInput {
    pub account_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub developer_type: Option<String>,
    pub review_status: String,
    pub device_count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeletionInput {
    pub account_id: String,
}

/// Extra claims from the chain, per token kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub id_token: serde_json::Map<String, serde_json::Value>,
    pub access_token: serde_json::Map<String, serde_json::Value>,
    pub userinfo: serde_json::Map<String, serde_json::Value>,
}

/// One hook call: what every hook receives besides its input.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub tenant: &'a str,
    pub config: &'a str,
    pub facts: &'a Facts,
    pub now: u64,
}

/// One installed plugin. A failure inside is the implementation's to turn into a
/// `policy_error` denial (or empty claims); it never panics and never allows.
pub trait Plugin: Send + Sync {
    fn manifest(&self) -> &Manifest;
    fn registration(&self, call: &Call<'_>, input: &RegistrationInput) -> Decision;
    fn password(&self, call: &Call<'_>, input: &PasswordInput) -> Decision;
    fn developer_submission(&self, call: &Call<'_>, input: &SubmissionInput) -> SubmissionDecision;
    fn device_binding(&self, call: &Call<'_>, input: &DeviceBindingInput) -> Decision;
    fn sign_in(&self, call: &Call<'_>, input: &SignInInput) -> Decision;
    /// `Err` carries the failure detail (claims cannot be a denial).
    fn token_claims(&self, call: &Call<'_>, input: &ClaimsInput) -> Result<Claims, String>;
    fn account_deletion(&self, call: &Call<'_>, input: &DeletionInput) -> Decision;
}
