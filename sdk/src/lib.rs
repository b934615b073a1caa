//! Latchkey's guest SDK: implement [`Policy`] (every hook has a default: allow, no
//! claims), list the hooks you implemented in `HOOKS`, and call
//! [`export_policy!`]. Build with `cargo build --release --target wasm32-wasip2`.
//!
//! ```ignore
//! use latchkey_sdk::{Context, Decision, Hook, Policy, Registration, deny};
//!
//! struct OnlyChina;
//! impl Policy for OnlyChina {
//!     const NAME: &'static str = "only-china";
//!     const HOOKS: &'static [Hook] = &[Hook::Registration];
//!     fn on_registration(_ctx: Context, r: Registration) -> Decision {
//!         match r.mobile.as_deref() {
//!             Some(m) if !m.starts_with("+86") => deny("mobile_range_not_allowed", "Only +86 numbers"),
//!             _ => Decision::Allow,
//!         }
//!     }
//! }
//! latchkey_sdk::export_policy!(OnlyChina);
//! ```

#[doc(hidden)]
pub mod wit {
    wit_bindgen::generate!({
        world: "policy",
        path: "wit",
        pub_export_macro: true,
        default_bindings_module: "latchkey_sdk::wit",
    });
}

pub use wit::latchkey::policy::types::{
    AccountDeletion, Claims, Context, Decision, Denial, DeveloperSubmission, DeviceBinding, Hook, Manifest,
    PasswordCheck, Registration, Requirement, SignIn, SubmissionDecision, TokenClaimsInput,
};

/// The version of the WIT world this SDK builds against.
pub const WORLD_VERSION: &str = "0.1.0";

/// A tenant policy. Every hook defaults to allowing (or adding no claims); a plugin
/// overrides the ones it needs and lists them in `HOOKS`.
pub trait Policy {
    const NAME: &'static str;
    const VERSION: &'static str = "0.1.0";
    /// The hooks this plugin implements; the host calls only these.
    const HOOKS: &'static [Hook];

    fn on_registration(_ctx: Context, _input: Registration) -> Decision {
        Decision::Allow
    }
    fn on_password(_ctx: Context, _input: PasswordCheck) -> Decision {
        Decision::Allow
    }
    fn on_developer_submission(_ctx: Context, _input: DeveloperSubmission) -> SubmissionDecision {
        SubmissionDecision::Accept
    }
    fn on_device_binding(_ctx: Context, _input: DeviceBinding) -> Decision {
        Decision::Allow
    }
    fn on_sign_in(_ctx: Context, _input: SignIn) -> Decision {
        Decision::Allow
    }
    fn on_token_claims(_ctx: Context, _input: TokenClaimsInput) -> Claims {
        no_claims()
    }
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
    wit::log(message);
}

/// Exports a [`Policy`] implementation as the plugin's component.
#[macro_export]
macro_rules! export_policy {
    ($plugin:ty) => {
        struct __LatchkeyExport;
        impl $crate::wit::Guest for __LatchkeyExport {
            fn manifest() -> $crate::Manifest {
                $crate::Manifest {
                    name: <$plugin as $crate::Policy>::NAME.into(),
                    version: <$plugin as $crate::Policy>::VERSION.into(),
                    hooks: <$plugin as $crate::Policy>::HOOKS.to_vec(),
                }
            }
            fn on_registration(ctx: $crate::Context, input: $crate::Registration) -> $crate::Decision {
                <$plugin as $crate::Policy>::on_registration(ctx, input)
            }
            fn on_password(ctx: $crate::Context, input: $crate::PasswordCheck) -> $crate::Decision {
                <$plugin as $crate::Policy>::on_password(ctx, input)
            }
            fn on_developer_submission(ctx: $crate::Context, input: $crate::DeveloperSubmission) -> $crate::SubmissionDecision {
                <$plugin as $crate::Policy>::on_developer_submission(ctx, input)
            }
            fn on_device_binding(ctx: $crate::Context, input: $crate::DeviceBinding) -> $crate::Decision {
                <$plugin as $crate::Policy>::on_device_binding(ctx, input)
            }
            fn on_sign_in(ctx: $crate::Context, input: $crate::SignIn) -> $crate::Decision {
                <$plugin as $crate::Policy>::on_sign_in(ctx, input)
            }
            fn on_token_claims(ctx: $crate::Context, input: $crate::TokenClaimsInput) -> $crate::Claims {
                <$plugin as $crate::Policy>::on_token_claims(ctx, input)
            }
            fn on_account_deletion(ctx: $crate::Context, input: $crate::AccountDeletion) -> $crate::Decision {
                <$plugin as $crate::Policy>::on_account_deletion(ctx, input)
            }
        }
        $crate::wit::export!(__LatchkeyExport with_types_in $crate::wit);
    };
}
