//! Policy hook overhead (W3, issue 4): a fresh instance + one hook call of a bundled
//! plugin, p50 and p99, next to its floor (a fresh instance alone, no call) and to a
//! chain of the three bundled plugins. Run: `cargo bench -p latchkey --bench hooks`.

#![allow(clippy::unwrap_used)] // a benchmark stops at the first failure

use std::time::{Duration, Instant};

use latchkey_core::policy::wasm::{Limits, WasmHost};
use latchkey_core::policy::{Call, DeviceBindingInput, Facts, Plugin};

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn measure(label: &str, n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    let (p50, p99) = percentiles(samples);
    println!("{label:<44} p50 {:>8.2} us   p99 {:>8.2} us", p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
    (p50, p99)
}

fn main() {
    let dir = env!("LATCHKEY_PLUGIN_DIR");
    let host = WasmHost::new(Limits::default()).unwrap();
    let device_cap = host.load(&std::fs::read(format!("{dir}/device_cap.wasm")).unwrap()).unwrap();
    let facts = Facts::default();
    let config = r#"{"caps": {"personal": 300}, "untyped": 300}"#;
    let call = Call { tenant: "bench", config, facts: &facts, now: 0 };
    let input = DeviceBindingInput {
        account_id: "1234567890123456".into(),
        developer_type: Some("personal".into()),
        review_status: "approved".into(),
        device_count: 42,
        device_kind: "direct".into(),
        gateway: None,
    };
    let n = 20_000;
    println!("policy hooks, {n} samples each (one core)");
    let small = host.load(&std::fs::read(format!("{dir}/hostile_trap.wasm")).unwrap()).unwrap();
    measure("fresh store + instantiate (49 KB guest, no serde)", n, || small.instantiate_only().unwrap());
    let (floor, _) = measure("floor: fresh store + instantiate", n, || device_cap.instantiate_only().unwrap());
    let (hook, _) = measure("device-binding hook (fresh instance + call)", n, || {
        std::hint::black_box(device_cap.device_binding(&call, &input));
    });
    println!(
        "hook overhead over the floor: {:.2} us (target: p50 of the whole hook at most 10 us)",
        (hook.saturating_sub(floor)).as_secs_f64() * 1e6
    );
}
