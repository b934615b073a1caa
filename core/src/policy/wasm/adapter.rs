//! What the host needs from one version of the world: an `Adapter` made at install
//! from the compiled component (it links the host's imports and pre-instantiates),
//! and per call an `Instance` whose hooks take and give domain types. The host's
//! limits, deadlines and answer checks stay in `wasm/mod.rs`, the same for every
//! version; an adapter only converts.

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, StoreLimits};

use crate::error::Result;
use crate::policy::{
    Call, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Manifest, PasswordInput, RegistrationInput,
    SignInInput, SubmissionDecision, SubmissionInput,
};

/// The data of one call's store, whatever the world version.
pub(super) struct HostState {
    pub limits: StoreLimits,
    pub plugin: String,
    pub tenant: String,
    pub logged: u32,
}

impl HostState {
    /// The `log` import of every version: at most a few lines per call, each cut
    /// short, so a plugin cannot flood the log.
    pub fn log(&mut self, message: &str) {
        if self.logged < 8 {
            self.logged += 1;
            let line: String = message.chars().take(300).collect();
            tracing::info!(plugin = %self.plugin, tenant = %self.tenant, "{line}");
        }
    }
}

/// Extra claims as the plugin returned them: JSON text the host still checks.
pub(super) struct RawClaims {
    pub id_token: String,
    pub access_token: String,
    pub userinfo: String,
}

/// One supported world version, bound to one compiled component.
pub(super) trait Adapter: Send + Sync {
    /// Instantiates the plugin in a fresh store (under the instantiation deadline).
    fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Box<dyn Instance>>;
}

/// A plugin instance of one world version. Answers are converted, not yet checked:
/// a denial's reason code and every size are the host's to check.
pub(super) trait Instance {
    fn manifest(&self, store: &mut Store<HostState>) -> wasmtime::Result<Manifest>;
    fn registration(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &RegistrationInput)
    -> wasmtime::Result<Decision>;
    fn password(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &PasswordInput) -> wasmtime::Result<Decision>;
    fn developer_submission(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &SubmissionInput,
    ) -> wasmtime::Result<SubmissionDecision>;
    fn device_binding(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &DeviceBindingInput,
    ) -> wasmtime::Result<Decision>;
    fn sign_in(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &SignInInput) -> wasmtime::Result<Decision>;
    fn token_claims(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &ClaimsInput) -> wasmtime::Result<RawClaims>;
    fn account_deletion(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &DeletionInput)
    -> wasmtime::Result<Decision>;
}

/// Makes the adapter of `version` for a compiled component: the one place that
/// lists the versions this host runs.
pub(super) fn for_version(
    version: super::world::WorldVersion,
    engine: &Engine,
    component: &Component,
) -> Result<Box<dyn Adapter>> {
    let linker: Linker<HostState> = Linker::new(engine);
    match version {
        super::world::WorldVersion::V0_1 => Ok(Box::new(super::v0_1::V0_1::new(linker, component)?)),
    }
}
