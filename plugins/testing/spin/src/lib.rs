//! Hostile: loops forever in the registration hook (the deadline must stop it).
use latchkey_sdk::{Context, Decision, Hook, Policy, Registration, export_policy};
struct Spin;
impl Policy for Spin {
    const NAME: &'static str = "hostile-spin";
    const HOOKS: &'static [Hook] = &[Hook::Registration];
    fn on_registration(_: Context, _: Registration) -> Decision {
        let mut x: u64 = 0;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}
export_policy!(Spin);
