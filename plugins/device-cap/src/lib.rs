//! Device caps per developer type (R13): personal developers may bind 300 devices
//! (sub-devices behind a gateway count), enterprise developers any number. Binding
//! the device past the cap is denied with `device_limit_reached`.

use std::collections::BTreeMap;

use latchkey_sdk::{Context, Decision, DeviceBinding, Policy, config, deny, policy};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Cap per developer type; a type not listed (or null) has no cap.
    caps: BTreeMap<String, Option<u64>>,
    /// Cap for accounts that chose no developer type yet.
    untyped: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config { caps: BTreeMap::from([("personal".into(), Some(300)), ("enterprise".into(), None)]), untyped: Some(300) }
    }
}

struct DeviceCap;

#[policy]
impl Policy for DeviceCap {
    const NAME: &'static str = "device-cap";

    fn on_device_binding(ctx: Context, d: DeviceBinding) -> Decision {
        let Ok(c) = config::<Config>(&ctx) else { return deny("policy_config_invalid", "device-cap: invalid configuration") };
        let cap = match &d.developer_type {
            Some(t) => c.caps.get(t).copied().flatten(),
            None => c.untyped,
        };
        match cap {
            Some(cap) if d.device_count >= cap => {
                deny("device_limit_reached", &format!("This account may bind at most {cap} devices."))
            }
            _ => Decision::Allow,
        }
    }
}
