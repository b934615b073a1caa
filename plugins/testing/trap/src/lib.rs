//! Hostile: panics (traps) in the registration hook.
use latchkey_sdk::{Context, Decision, Policy, Registration, policy};
struct Trap;
#[policy]
impl Policy for Trap {
    const NAME: &'static str = "hostile-trap";
    fn on_registration(_: Context, s: Registration) -> Decision {
        let v: Vec<u8> = Vec::new();
        Decision::Deny(latchkey_sdk::Denial { reason: format!("{}", v[s.method.len() + 10]), message: String::new() })
    }
}
