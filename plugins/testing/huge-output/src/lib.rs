//! Hostile: answers with an enormous denial message.
use latchkey_sdk::{Context, Decision, Denial, Policy, Registration, policy};
struct Huge;
#[policy]
impl Policy for Huge {
    const NAME: &'static str = "hostile-huge-output";
    fn on_registration(_: Context, _: Registration) -> Decision {
        Decision::Deny(Denial { reason: "x".repeat(10 << 20), message: "y".repeat(1000) })
    }
}
