//! Test plugin: overrides the password and account-deletion hooks and lists nothing;
//! the `#[policy]` attribute derives its hooks, so the host calls both (W5).
use latchkey_sdk::{AccountDeletion, Context, Decision, PasswordCheck, Policy, deny, policy};
struct Derived;
#[policy]
impl Policy for Derived {
    const NAME: &'static str = "derived-hooks";
    fn on_password(_: Context, _: PasswordCheck) -> Decision {
        deny("derived_hook_called", "The password hook of a plugin that lists no hooks was called.")
    }
    fn on_account_deletion(_: Context, _: AccountDeletion) -> Decision {
        deny("derived_hook_called", "The deletion hook of a plugin that lists no hooks was called.")
    }
}
