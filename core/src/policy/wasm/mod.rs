//! The wasmtime host: one `Engine` (component model, pooling allocator, epoch
//! interruption, fuel), per plugin a compiled `Component` (cached in memory by content
//! hash) behind the adapter of the world version it was built for, and a fresh
//! `Store` per call with a memory cap and a deadline. No WASI is linked: every import
//! but `log` traps when called. The limits and the checks of a plugin's answers are
//! the same for every world version; adapters (`v0_1`, ...) only convert.

mod adapter;
mod engine;
mod v0_1;
mod world;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use wasmtime::{Engine, Store, StoreLimitsBuilder};

use crate::error::{Error, Field, Result};
use crate::policy::{
    Call, Claims, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Hook, Manifest, PasswordInput, Plugin,
    RegistrationInput, SignInInput, SubmissionDecision, SubmissionInput,
};
use adapter::{Adapter, HostState, Instance};
pub use world::{PLUGIN_WORLD_UNSUPPORTED, WORLD, World, WorldVersion};

/// The newest world version this host speaks (it also runs every one in
/// `WorldVersion::SUPPORTED`).
pub const WORLD_VERSION: &str = "0.1.0";

/// Per-call limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory per plugin instance, bytes.
    pub memory: usize,
    /// Wall-clock budget of one hook call.
    pub deadline: Duration,
    /// Instructions (fuel) of one hook call.
    pub fuel: u64,
    /// Longest string a plugin may return (reason, message, claims JSON).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory: 16 << 20, deadline: Duration::from_millis(10), fuel: 200_000_000, max_output: 64 << 10 }
    }
}

/// Budget for instantiation (start functions run then), in epoch ticks (1 ms).
const INSTANTIATE_TICKS: u64 = 200;

/// The plugin host of one server: its limits, over a process-wide engine.
pub struct WasmHost {
    engine: Engine,
    limits: Limits,
    cache: Mutex<HashMap<String, Arc<WasmPlugin>>>,
}

impl WasmHost {
    /// A host with these limits, on the process's engine for the memory cap.
    pub fn new(limits: Limits) -> Result<Arc<WasmHost>> {
        let engine = engine::engine_for(limits.memory)?;
        Ok(Arc::new(WasmHost { engine, limits, cache: Mutex::new(HashMap::new()) }))
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles (or finds in the cache) a plugin: reads the world version it was
    /// built for and refuses one without an adapter (`plugin_world_unsupported`),
    /// has the adapter link `log` and make every other import trap, and reads the
    /// plugin's manifest.
    pub fn load(self: &Arc<Self>, bytes: &[u8]) -> Result<Arc<WasmPlugin>> {
        let hash = content_hash(bytes);
        if let Some(p) = self.cache.lock().ok().and_then(|c| c.get(&hash).cloned()) {
            return Ok(p);
        }
        let component = engine::compile(&self.engine, self.limits.memory, &hash, bytes)?;
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(&self.engine).map(|(name, _)| name.to_string()).collect();
        let world = world::detect(imports.iter().map(String::as_str))?;
        let adapter = adapter::for_version(world.version, &self.engine, &component)?;
        let mut plugin = WasmPlugin {
            host: self.clone(),
            adapter,
            world,
            hash: hash.clone(),
            manifest: Manifest { name: String::new(), version: String::new(), hooks: Vec::new() },
        };
        plugin.manifest = plugin.read_manifest()?;
        let plugin = Arc::new(plugin);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(hash, plugin.clone());
        }
        Ok(plugin)
    }
}

/// The hex SHA-256 of a plugin's bytes: its identity in the store and the cache.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One compiled plugin behind the adapter of its world version.
pub struct WasmPlugin {
    host: Arc<WasmHost>,
    adapter: Box<dyn Adapter>,
    world: World,
    pub hash: String,
    manifest: Manifest,
}

/// Why a call failed (it becomes a `policy_error`).
fn failure(e: wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => "deadline exceeded".into(),
            wasmtime::Trap::OutOfFuel => "instruction budget exceeded".into(),
            other => format!("trap: {other}"),
        };
    }
    let text = e.to_string();
    text.chars().take(200).collect()
}

impl WasmPlugin {
    /// The world the plugin was built for, e.g. `latchkey:policy@0.1.0`.
    pub fn world(&self) -> &World {
        &self.world
    }

    fn store(&self, tenant: &str) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.host.limits.memory)
            .instances(16)
            .tables(16)
            .memories(8)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            &self.host.engine,
            HostState { limits, plugin: self.manifest.name.clone(), tenant: tenant.to_string(), logged: 0 },
        );
        store.limiter(|s| &mut s.limits);
        store
    }

    /// Instantiates in a fresh store and runs `f` under the call's limits.
    fn call<R>(
        &self,
        tenant: &str,
        f: impl FnOnce(&dyn Instance, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> std::result::Result<R, String> {
        let ticks = (self.host.limits.deadline.as_millis() as u64).max(1);
        self.call_within(tenant, ticks, f)
    }

    /// Like `call`, with a deadline of `ticks` epoch ticks for `f`; fuel still caps it.
    fn call_within<R>(
        &self,
        tenant: &str,
        ticks: u64,
        f: impl FnOnce(&dyn Instance, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> std::result::Result<R, String> {
        let mut store = self.store(tenant);
        store.set_fuel(self.host.limits.fuel).map_err(failure)?;
        store.set_epoch_deadline(INSTANTIATE_TICKS);
        let instance = self.adapter.instantiate(&mut store).map_err(failure)?;
        store.set_epoch_deadline(ticks);
        f(instance.as_ref(), &mut store).map_err(failure)
    }

    /// A fresh store and instance, no call: the floor a hook call is measured against.
    pub fn instantiate_only(&self) -> std::result::Result<(), String> {
        self.call("-", |_, _| Ok(()))
    }

    fn read_manifest(&self) -> Result<Manifest> {
        let m = self
            // Read once at install, off every request path: the wall-clock budget of
            // instantiation, so a busy machine does not refuse a good plugin; fuel
            // still stops one that loops.
            .call_within("-", INSTANTIATE_TICKS, |p, s| p.manifest(s))
            .map_err(|e| Error::invalid(Field::Plugin, format!("manifest failed: {e}")))?;
        let max = self.host.limits.max_output;
        if m.name.is_empty()
            || m.name.len() > 64
            || m.version.len() > 32
            || m.hooks.len() > Hook::ALL.len() * 2
            || m.name.len() > max
        {
            return Err(Error::invalid(Field::Plugin, "manifest is malformed"));
        }
        let mut hooks = m.hooks;
        hooks.dedup();
        Ok(Manifest { name: m.name, version: m.version, hooks })
    }

    /// Checks a converted decision, refusing nonsense (oversized or malformed reason
    /// codes) as a policy error.
    fn decision(&self, d: std::result::Result<Decision, String>) -> Decision {
        match d {
            Ok(Decision::Deny { reason, message }) => self.denial(reason, message),
            Ok(d) => d,
            Err(e) => self.failed(&e),
        }
    }

    fn denial(&self, reason: String, message: String) -> Decision {
        let code_ok = (1..=64).contains(&reason.len())
            && reason.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok || message.len() > self.host.limits.max_output {
            return self.failed("returned a malformed denial");
        }
        Decision::Deny { reason, message }
    }

    fn failed(&self, detail: &str) -> Decision {
        tracing::warn!(plugin = %self.manifest.name, detail, "policy plugin failed; denying");
        Decision::policy_error(&format!("{}: {detail}", self.manifest.name))
    }

    fn json_object(&self, s: &str) -> std::result::Result<Map<String, Value>, String> {
        if s.len() > self.host.limits.max_output {
            return Err("claims too large".into());
        }
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("claims are not a JSON object".into()),
        }
    }
}

impl Plugin for WasmPlugin {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn registration(&self, call: &Call<'_>, i: &RegistrationInput) -> Decision {
        self.decision(self.call(call.tenant, |p, s| p.registration(s, call, i)))
    }

    fn password(&self, call: &Call<'_>, i: &PasswordInput) -> Decision {
        self.decision(self.call(call.tenant, |p, s| p.password(s, call, i)))
    }

    fn developer_submission(&self, call: &Call<'_>, i: &SubmissionInput) -> SubmissionDecision {
        match self.call(call.tenant, |p, s| p.developer_submission(s, call, i)) {
            Ok(SubmissionDecision::Reject { reason }) if reason.len() > self.host.limits.max_output => {
                as_submission(self.failed("returned an oversized rejection"))
            }
            Ok(SubmissionDecision::Deny { reason, message }) => as_submission(self.denial(reason, message)),
            Ok(d) => d,
            Err(e) => as_submission(self.failed(&e)),
        }
    }

    fn device_binding(&self, call: &Call<'_>, i: &DeviceBindingInput) -> Decision {
        self.decision(self.call(call.tenant, |p, s| p.device_binding(s, call, i)))
    }

    fn sign_in(&self, call: &Call<'_>, i: &SignInInput) -> Decision {
        self.decision(self.call(call.tenant, |p, s| p.sign_in(s, call, i)))
    }

    fn token_claims(&self, call: &Call<'_>, i: &ClaimsInput) -> std::result::Result<Claims, String> {
        let c = self.call(call.tenant, |p, s| p.token_claims(s, call, i))?;
        Ok(Claims {
            id_token: self.json_object(&c.id_token)?,
            access_token: self.json_object(&c.access_token)?,
            userinfo: self.json_object(&c.userinfo)?,
        })
    }

    fn account_deletion(&self, call: &Call<'_>, i: &DeletionInput) -> Decision {
        self.decision(self.call(call.tenant, |p, s| p.account_deletion(s, call, i)))
    }
}

/// `failed` and `denial` only ever produce denials; keep the type checker honest
/// without panicking.
fn as_submission(d: Decision) -> SubmissionDecision {
    match d {
        Decision::Deny { reason, message } => SubmissionDecision::Deny { reason, message },
        _ => SubmissionDecision::Deny { reason: crate::policy::POLICY_ERROR.into(), message: String::new() },
    }
}
