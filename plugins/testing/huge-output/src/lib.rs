//! Hostile: answers with an enormous denial message.
use latchkey_sdk::{Context, Decision, Denial, Hook, Policy, Registration, export_policy};
struct Huge;
impl Policy for Huge {
    const NAME: &'static str = "hostile-huge-output";
    const HOOKS: &'static [Hook] = &[Hook::Registration];
    fn on_registration(_: Context, _: Registration) -> Decision {
        Decision::Deny(Denial { reason: "x".repeat(10 << 20), message: "y".repeat(1000) })
    }
}
export_policy!(Huge);
