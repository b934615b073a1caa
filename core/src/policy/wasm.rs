//! The wasmtime host: one `Engine` (component model, pooling allocator, epoch
//! interruption, fuel), a compiled `Component` and `InstancePre` per plugin (cached
//! in memory by content hash), and a fresh `Store` per call with a memory cap and a
//! deadline. No WASI is linked: every import but `log` traps when called.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder,
};

use crate::error::{Error, Result};
use crate::policy::{
    Call, Claims, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Hook, Manifest, PasswordInput, Plugin,
    RegistrationInput, Requirement, SignInInput, SubmissionDecision, SubmissionInput,
};

mod bindings {
    wasmtime::component::bindgen!({ world: "policy", path: "../sdk/wit" });
}

use bindings::latchkey::policy::types as wit;
use bindings::{Policy as WitPolicy, PolicyImports, PolicyPre};

/// The WIT world version this host speaks (major.minor must match).
pub const WORLD: &str = "latchkey:policy";
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

/// How often the epoch advances; deadlines are counted in these ticks.
const TICK: Duration = Duration::from_millis(1);
/// Budget for instantiation (start functions run then).
const INSTANTIATE_TICKS: u64 = 200;

struct HostState {
    limits: StoreLimits,
    plugin: String,
    tenant: String,
    logged: u32,
}

impl PolicyImports for HostState {
    fn log(&mut self, message: String) {
        // At most a few lines per call, each cut short: a plugin cannot flood the log.
        if self.logged < 8 {
            self.logged += 1;
            let line: String = message.chars().take(300).collect();
            tracing::info!(plugin = %self.plugin, tenant = %self.tenant, "{line}");
        }
    }
}

/// The `types` interface has no functions; its (empty) host side.
impl wit::Host for HostState {}

/// The plugin host of one server: its limits, over a process-wide engine.
pub struct WasmHost {
    engine: Engine,
    limits: Limits,
    cache: Mutex<HashMap<String, Arc<WasmPlugin>>>,
}

fn engine_error(e: impl std::fmt::Display) -> Error {
    Error::invalid("plugin", e.to_string())
}

/// Engines by memory cap, one per process (each with its epoch ticker), and the
/// components compiled on them by content hash: servers in one process (tests) share
/// them instead of compiling every plugin again.
static ENGINES: Mutex<Vec<(usize, Engine)>> = Mutex::new(Vec::new());
static COMPONENTS: Mutex<Vec<(usize, String, Component)>> = Mutex::new(Vec::new());

fn engine_for(memory: usize) -> Result<Engine> {
    let mut engines = ENGINES.lock().map_err(|_| Error::Storage("engine lock".into()))?;
    if let Some((_, e)) = engines.iter().find(|(m, _)| *m == memory) {
        return Ok(e.clone());
    }
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(500)
        .total_core_instances(2000)
        .total_memories(1000)
        .total_tables(1000)
        .max_memories_per_component(8)
        .max_core_instances_per_component(16)
        .max_tables_per_component(16)
        .max_memory_size(memory)
        // Reset a slot's first pages with memset instead of madvise: a hook touches
        // little memory, and page faults plus TLB shootdowns dominated its cost.
        .linear_memory_keep_resident(128 << 10)
        .table_keep_resident(1 << 16);
    let mut config = Config::new();
    // Reserve only the capped memory per slot, not the 4 GiB default.
    config
        .memory_reservation(memory as u64)
        .memory_guard_size(1 << 16)
        .memory_reservation_for_growth(0)
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).map_err(|e| Error::Storage(format!("wasm engine: {e}")))?;
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("latchkey-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                ticking.increment_epoch();
            }
        })
        .map_err(|e| Error::Storage(format!("epoch thread: {e}")))?;
    engines.push((memory, engine.clone()));
    Ok(engine)
}

fn compile(engine: &Engine, memory: usize, hash: &str, bytes: &[u8]) -> Result<Component> {
    if let Some((_, _, c)) =
        COMPONENTS.lock().ok().and_then(|l| l.iter().find(|(m, h, _)| *m == memory && h == hash).cloned())
    {
        return Ok(c);
    }
    let component = Component::new(engine, bytes)
        .map_err(|e| Error::invalid("plugin", format!("not a WebAssembly component: {e}")))?;
    if let Ok(mut l) = COMPONENTS.lock() {
        l.push((memory, hash.to_string(), component.clone()));
    }
    Ok(component)
}

impl WasmHost {
    pub fn new(limits: Limits) -> Result<Arc<WasmHost>> {
        let engine = engine_for(limits.memory)?;
        Ok(Arc::new(WasmHost { engine, limits, cache: Mutex::new(HashMap::new()) }))
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles (or finds in the cache) a plugin: checks it is a component of the
    /// `latchkey:policy@0.1` world, links `log` and makes every other import trap,
    /// and reads its manifest.
    pub fn load(self: &Arc<Self>, bytes: &[u8]) -> Result<Arc<WasmPlugin>> {
        let hash = content_hash(bytes);
        if let Some(p) = self.cache.lock().ok().and_then(|c| c.get(&hash).cloned()) {
            return Ok(p);
        }
        let component = compile(&self.engine, self.limits.memory, &hash, bytes)?;
        check_world_version(&self.engine, &component)?;
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        WitPolicy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(engine_error)?;
        linker.define_unknown_imports_as_traps(&component).map_err(engine_error)?;
        let pre = linker.instantiate_pre(&component).map_err(engine_error)?;
        let pre = PolicyPre::new(pre)
            .map_err(|e| Error::invalid("plugin", format!("does not implement the {WORLD} world: {e}")))?;
        let mut plugin = WasmPlugin {
            host: self.clone(),
            pre,
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

/// Refuses components built for another major/minor version of the world.
fn check_world_version(engine: &Engine, component: &Component) -> Result<()> {
    let ty = component.component_type();
    let prefix = format!("{WORLD}/");
    let versions: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|n| n.starts_with(&prefix))
        .filter_map(|n| n.split_once('@').map(|(_, v)| v.to_string()))
        .collect();
    let want = WORLD_VERSION.rsplit_once('.').map(|(mm, _)| mm).unwrap_or(WORLD_VERSION);
    match versions.first() {
        Some(v) if v.rsplit_once('.').map(|(mm, _)| mm) == Some(want) => Ok(()),
        Some(v) => {
            Err(Error::invalid("plugin", format!("built for {WORLD}@{v}; this host speaks {WORLD}@{WORLD_VERSION}")))
        }
        None => Err(Error::invalid("plugin", format!("does not use the {WORLD} world"))),
    }
}

/// One compiled plugin.
pub struct WasmPlugin {
    host: Arc<WasmHost>,
    pre: PolicyPre<HostState>,
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
        f: impl FnOnce(&WitPolicy, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> std::result::Result<R, String> {
        let ticks = (self.host.limits.deadline.as_millis() as u64).max(1);
        self.call_within(tenant, ticks, f)
    }

    /// Like `call`, with a deadline of `ticks` epoch ticks for `f`; fuel still caps it.
    fn call_within<R>(
        &self,
        tenant: &str,
        ticks: u64,
        f: impl FnOnce(&WitPolicy, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> std::result::Result<R, String> {
        let mut store = self.store(tenant);
        store.set_fuel(self.host.limits.fuel).map_err(failure)?;
        store.set_epoch_deadline(INSTANTIATE_TICKS);
        let instance = self.pre.instantiate(&mut store).map_err(failure)?;
        store.set_epoch_deadline(ticks);
        f(&instance, &mut store).map_err(failure)
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
            .call_within("-", INSTANTIATE_TICKS, |p, s| p.call_manifest(s))
            .map_err(|e| Error::invalid("plugin", format!("manifest failed: {e}")))?;
        let max = self.host.limits.max_output;
        if m.name.is_empty()
            || m.name.len() > 64
            || m.version.len() > 32
            || m.hooks.len() > Hook::ALL.len() * 2
            || m.name.len() > max
        {
            return Err(Error::invalid("plugin", "manifest is malformed"));
        }
        let mut hooks: Vec<Hook> = m.hooks.iter().map(hook_from_wit).collect();
        hooks.dedup();
        Ok(Manifest { name: m.name, version: m.version, hooks })
    }

    fn ctx(call: &Call<'_>) -> wit::Context {
        wit::Context {
            tenant: call.tenant.to_string(),
            config: call.config.to_string(),
            client_id: call.facts.client_id.clone(),
            ip: call.facts.ip.clone(),
            user_agent: call.facts.user_agent.clone(),
            now: call.now,
        }
    }

    /// Turns a WIT decision into ours, refusing nonsense (oversized or malformed
    /// reason codes) as a policy error.
    fn decision(&self, d: std::result::Result<wit::Decision, String>) -> Decision {
        match d {
            Ok(wit::Decision::Allow) => Decision::Allow,
            Ok(wit::Decision::Require(wit::Requirement::SecondFactor)) => {
                Decision::Require { requirement: Requirement::SecondFactor }
            }
            Ok(wit::Decision::Require(wit::Requirement::Captcha)) => {
                Decision::Require { requirement: Requirement::Captcha }
            }
            Ok(wit::Decision::Deny(d)) => self.denial(d.reason, d.message),
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

fn hook_from_wit(h: &wit::Hook) -> Hook {
    match h {
        wit::Hook::Registration => Hook::Registration,
        wit::Hook::Password => Hook::Password,
        wit::Hook::DeveloperSubmission => Hook::DeveloperSubmission,
        wit::Hook::DeviceBinding => Hook::DeviceBinding,
        wit::Hook::SignIn => Hook::SignIn,
        wit::Hook::TokenClaims => Hook::TokenClaims,
        wit::Hook::AccountDeletion => Hook::AccountDeletion,
    }
}

impl Plugin for WasmPlugin {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn registration(&self, call: &Call<'_>, i: &RegistrationInput) -> Decision {
        let input = wit::Registration {
            method: i.method.clone(),
            account_name: i.account_name.clone(),
            mobile: i.mobile.clone(),
            email: i.email.clone(),
            accounts_on_mobile: i.accounts_on_mobile,
        };
        let ctx = Self::ctx(call);
        self.decision(self.call(call.tenant, |p, s| p.call_on_registration(s, &ctx, &input)))
    }

    fn password(&self, call: &Call<'_>, i: &PasswordInput) -> Decision {
        let input = wit::PasswordCheck { password: i.password.clone(), account_name: i.account_name.clone() };
        let ctx = Self::ctx(call);
        self.decision(self.call(call.tenant, |p, s| p.call_on_password(s, &ctx, &input)))
    }

    fn developer_submission(&self, call: &Call<'_>, i: &SubmissionInput) -> SubmissionDecision {
        let input = wit::DeveloperSubmission {
            account_id: i.account_id.clone(),
            developer_type: i.developer_type.clone(),
            fields: i.fields.clone(),
        };
        let ctx = Self::ctx(call);
        match self.call(call.tenant, |p, s| p.call_on_developer_submission(s, &ctx, &input)) {
            Ok(wit::SubmissionDecision::Accept) => SubmissionDecision::Accept,
            Ok(wit::SubmissionDecision::Approve) => SubmissionDecision::Approve,
            Ok(wit::SubmissionDecision::Reject(r)) if r.len() <= self.host.limits.max_output => {
                SubmissionDecision::Reject { reason: r }
            }
            Ok(wit::SubmissionDecision::Deny(d)) => match self.denial(d.reason, d.message) {
                Decision::Deny { reason, message } => SubmissionDecision::Deny { reason, message },
                _ => unreachable_deny(),
            },
            Ok(wit::SubmissionDecision::Reject(_)) => as_submission(self.failed("returned an oversized rejection")),
            Err(e) => as_submission(self.failed(&e)),
        }
    }

    fn device_binding(&self, call: &Call<'_>, i: &DeviceBindingInput) -> Decision {
        let input = wit::DeviceBinding {
            account_id: i.account_id.clone(),
            developer_type: i.developer_type.clone(),
            review_status: i.review_status.clone(),
            device_count: i.device_count,
            device_kind: i.device_kind.clone(),
            gateway: i.gateway.clone(),
        };
        let ctx = Self::ctx(call);
        self.decision(self.call(call.tenant, |p, s| p.call_on_device_binding(s, &ctx, &input)))
    }

    fn sign_in(&self, call: &Call<'_>, i: &SignInInput) -> Decision {
        let input =
            wit::SignIn { account_id: i.account_id.clone(), method: i.method.clone(), new_device: i.new_device };
        let ctx = Self::ctx(call);
        self.decision(self.call(call.tenant, |p, s| p.call_on_sign_in(s, &ctx, &input)))
    }

    fn token_claims(&self, call: &Call<'_>, i: &ClaimsInput) -> std::result::Result<Claims, String> {
        let input = wit::TokenClaimsInput {
            account_id: i.account_id.clone(),
            client_id: i.client_id.clone(),
            scopes: i.scopes.clone(),
            developer_type: i.developer_type.clone(),
            review_status: i.review_status.clone(),
            device_count: i.device_count,
        };
        let ctx = Self::ctx(call);
        let c = self.call(call.tenant, |p, s| p.call_on_token_claims(s, &ctx, &input))?;
        Ok(Claims {
            id_token: self.json_object(&c.id_token)?,
            access_token: self.json_object(&c.access_token)?,
            userinfo: self.json_object(&c.userinfo)?,
        })
    }

    fn account_deletion(&self, call: &Call<'_>, i: &DeletionInput) -> Decision {
        let input = wit::AccountDeletion { account_id: i.account_id.clone() };
        let ctx = Self::ctx(call);
        self.decision(self.call(call.tenant, |p, s| p.call_on_account_deletion(s, &ctx, &input)))
    }
}

fn as_submission(d: Decision) -> SubmissionDecision {
    match d {
        Decision::Deny { reason, message } => SubmissionDecision::Deny { reason, message },
        _ => unreachable_deny(),
    }
}

/// `failed` and `denial` only ever produce denials; keep the type checker honest
/// without panicking.
fn unreachable_deny() -> SubmissionDecision {
    SubmissionDecision::Deny { reason: crate::policy::POLICY_ERROR.into(), message: String::new() }
}
