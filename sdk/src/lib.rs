//! Latchkey's guest SDK: implement [`Policy`] (every hook has a default: allow, no
//! claims), override the hooks you need, and put [`policy`] on the impl: it exports
//! the plugin and derives the hooks the host calls from the methods you wrote. Build
//! with `cargo build --release --target wasm32-wasip2`.
//!
//! ```ignore
//! use latchkey_sdk::{Context, Decision, Policy, Registration, deny, policy};
//!
//! struct OnlyChina;
//!
//! #[policy]
//! impl Policy for OnlyChina {
//!     const NAME: &'static str = "only-china";
//!     fn on_registration(_ctx: Context, r: Registration) -> Decision {
//!         match r.mobile.as_deref() {
//!             Some(m) if !m.starts_with("+86") => deny("mobile_range_not_allowed", "Only +86 numbers"),
//!             _ => Decision::Allow,
//!         }
//!     }
//! }
//! ```

mod export;

/// The `wit_bindgen` output for the world this SDK builds against. Private: plugin
/// authors use the re-exports below, so the bindings can change with the world.
mod bindings {
    wit_bindgen::generate!({
        world: "policy",
        path: "wit/since_v0.1.0",
        pub_export_macro: true,
        default_bindings_module: "latchkey_sdk::__private",
    });
}

pub use bindings::latchkey::policy::types::{
    AccountDeletion, Claims, Context, Decision, Denial, DeveloperSubmission, DeviceBinding, Hook, Manifest,
    PasswordCheck, Registration, Requirement, SignIn, SubmissionDecision, TokenClaimsInput,
};
pub use latchkey_sdk_macros::policy;

/// What the code [`policy`] generates refers to (the export macro and the raw
/// entry points it wires to [`Policy`]); not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::{
        __export_world_policy_cabi, __post_return_manifest, __post_return_on_account_deletion,
        __post_return_on_developer_submission, __post_return_on_device_binding, __post_return_on_password,
        __post_return_on_registration, __post_return_on_sign_in, __post_return_on_token_claims, _export_manifest_cabi,
        _export_on_account_deletion_cabi, _export_on_developer_submission_cabi, _export_on_device_binding_cabi,
        _export_on_password_cabi, _export_on_registration_cabi, _export_on_sign_in_cabi, _export_on_token_claims_cabi,
        export,
    };
    pub use crate::export::Export;
}

/// The version of the WIT world this SDK builds against.
pub const WORLD_VERSION: &str = "0.1.0";

/// A tenant policy. Every hook defaults to allowing (or adding no claims); a plugin
/// overrides the ones it needs. Put [`policy`] on the impl: the host calls exactly the
/// hooks the impl defines.
pub trait Policy {
    /// The plugin's name, unique in a tenant's chain.
    const NAME: &'static str;
    /// The plugin's own version.
    const VERSION: &'static str = "0.1.0";
    /// The hooks this plugin implements; derived by [`policy`], never written by hand.
    #[doc(hidden)]
    const HOOKS: &'static [Hook];

    /// Someone registers (R1 to R3, R8, R10).
    fn on_registration(_ctx: Context, _input: Registration) -> Decision {
        Decision::Allow
    }
    /// A new password is being set (R4).
    fn on_password(_ctx: Context, _input: PasswordCheck) -> Decision {
        Decision::Allow
    }
    /// A developer submits the fields of a developer type (R11, R12).
    fn on_developer_submission(_ctx: Context, _input: DeveloperSubmission) -> SubmissionDecision {
        SubmissionDecision::Accept
    }
    /// A device is about to be bound to an account (R13).
    fn on_device_binding(_ctx: Context, _input: DeviceBinding) -> Decision {
        Decision::Allow
    }
    /// A person has proved the first factor.
    fn on_sign_in(_ctx: Context, _input: SignIn) -> Decision {
        Decision::Allow
    }
    /// Tokens are issued: extra claims per token kind.
    fn on_token_claims(_ctx: Context, _input: TokenClaimsInput) -> Claims {
        no_claims()
    }
    /// An account asks to be deleted.
    fn on_account_deletion(_ctx: Context, _input: AccountDeletion) -> Decision {
        Decision::Allow
    }
}

/// A denial with a stable reason code and a message for the person.
pub fn deny(reason: &str, message: &str) -> Decision {
    Decision::Deny(Denial { reason: reason.into(), message: message.into() })
}

/// No extra claims.
pub fn no_claims() -> Claims {
    Claims { id_token: "{}".into(), access_token: "{}".into(), userinfo: "{}".into() }
}

/// The plugin's configuration, parsed; `T::default()` when absent or invalid JSON
/// would be silently wrong, so invalid JSON is an `Err`.
pub fn config<T: serde::de::DeserializeOwned + Default>(ctx: &Context) -> Result<T, serde_json::Error> {
    if ctx.config.trim().is_empty() { Ok(T::default()) } else { serde_json::from_str(&ctx.config) }
}

/// Writes a line to the host's log.
pub fn log(message: &str) {
    bindings::log(message);
}
