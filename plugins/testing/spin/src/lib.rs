//! Hostile: loops forever in the registration hook (the deadline must stop it).
use latchkey_sdk::{Context, Decision, Policy, Registration, policy};
struct Spin;
#[policy]
impl Policy for Spin {
    const NAME: &'static str = "hostile-spin";
    fn on_registration(_: Context, _: Registration) -> Decision {
        let mut x: u64 = 0;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}
