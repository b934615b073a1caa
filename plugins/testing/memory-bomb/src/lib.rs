//! Hostile: allocates without end in the registration hook (the memory cap must stop it).
use latchkey_sdk::{Context, Decision, Policy, Registration, policy};
struct Bomb;
#[policy]
impl Policy for Bomb {
    const NAME: &'static str = "hostile-memory-bomb";
    fn on_registration(_: Context, _: Registration) -> Decision {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}
