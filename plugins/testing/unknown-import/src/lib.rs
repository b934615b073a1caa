//! Hostile: reads a file (a WASI import the host does not grant).
use latchkey_sdk::{Context, Decision, Policy, Registration, deny, policy};
struct Snoop;
#[policy]
impl Policy for Snoop {
    const NAME: &'static str = "hostile-unknown-import";
    fn on_registration(_: Context, _: Registration) -> Decision {
        match std::fs::read_to_string("/etc/passwd") {
            Ok(s) => deny("leak", &s),
            Err(_) => Decision::Allow,
        }
    }
}
