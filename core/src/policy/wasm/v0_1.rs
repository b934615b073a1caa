//! The adapter for `latchkey:policy@0.1` (`sdk/wit/since_v0.1.0/`, frozen): the
//! wasmtime bindings of that world and the conversions between its types and the
//! domain's. A later world version gets its own file beside this one.

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::adapter::{Adapter, HostState, Instance, RawClaims};
use crate::error::{Error, Field, Result};
use crate::policy::{
    Call, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Hook, Manifest, PasswordInput, RegistrationInput,
    Requirement, SignInInput, SubmissionDecision, SubmissionInput,
};

mod bindings {
    wasmtime::component::bindgen!({ world: "policy", path: "../sdk/wit/since_v0.1.0" });
}

use bindings::latchkey::policy::types as wit;
use bindings::{Policy, PolicyImports, PolicyPre};

impl PolicyImports for HostState {
    fn log(&mut self, message: String) {
        HostState::log(self, &message);
    }
}

/// The `types` interface has no functions; its (empty) host side.
impl wit::Host for HostState {}

/// A component of the 0.1 world, linked (`log`, every other import traps) and
/// pre-instantiated.
pub(super) struct V0_1 {
    pre: PolicyPre<HostState>,
}

impl V0_1 {
    pub(super) fn new(mut linker: Linker<HostState>, component: &Component) -> Result<Self> {
        let engine_error = |e: wasmtime::Error| Error::invalid(Field::Plugin, e.to_string());
        Policy::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(engine_error)?;
        linker.define_unknown_imports_as_traps(component).map_err(engine_error)?;
        let pre = linker.instantiate_pre(component).map_err(engine_error)?;
        let pre = PolicyPre::new(pre).map_err(|e| {
            Error::invalid(Field::Plugin, format!("does not implement the {} world: {e}", super::world::WORLD))
        })?;
        Ok(V0_1 { pre })
    }
}

impl Adapter for V0_1 {
    fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Box<dyn Instance>> {
        Ok(Box::new(self.pre.instantiate(store)?))
    }
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

fn decision(d: wit::Decision) -> Decision {
    match d {
        wit::Decision::Allow => Decision::Allow,
        wit::Decision::Deny(d) => Decision::Deny { reason: d.reason, message: d.message },
        wit::Decision::Require(wit::Requirement::SecondFactor) => {
            Decision::Require { requirement: Requirement::SecondFactor }
        }
        wit::Decision::Require(wit::Requirement::Captcha) => Decision::Require { requirement: Requirement::Captcha },
    }
}

fn hook(h: wit::Hook) -> Hook {
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

impl Instance for Policy {
    fn manifest(&self, s: &mut Store<HostState>) -> wasmtime::Result<Manifest> {
        let m = self.call_manifest(s)?;
        Ok(Manifest { name: m.name, version: m.version, hooks: m.hooks.into_iter().map(hook).collect() })
    }

    fn registration(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &RegistrationInput,
    ) -> wasmtime::Result<Decision> {
        let input = wit::Registration {
            method: i.method.clone(),
            account_name: i.account_name.clone(),
            mobile: i.mobile.clone(),
            email: i.email.clone(),
            accounts_on_mobile: i.accounts_on_mobile,
        };
        self.call_on_registration(s, &ctx(c), &input).map(decision)
    }

    fn password(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &PasswordInput) -> wasmtime::Result<Decision> {
        let input = wit::PasswordCheck { password: i.password.clone(), account_name: i.account_name.clone() };
        self.call_on_password(s, &ctx(c), &input).map(decision)
    }

    fn developer_submission(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &SubmissionInput,
    ) -> wasmtime::Result<SubmissionDecision> {
        let input = wit::DeveloperSubmission {
            account_id: i.account_id.clone(),
            developer_type: i.developer_type.clone(),
            fields: i.fields.clone(),
        };
        Ok(match self.call_on_developer_submission(s, &ctx(c), &input)? {
            wit::SubmissionDecision::Accept => SubmissionDecision::Accept,
            wit::SubmissionDecision::Approve => SubmissionDecision::Approve,
            wit::SubmissionDecision::Reject(reason) => SubmissionDecision::Reject { reason },
            wit::SubmissionDecision::Deny(d) => SubmissionDecision::Deny { reason: d.reason, message: d.message },
        })
    }

    fn device_binding(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &DeviceBindingInput,
    ) -> wasmtime::Result<Decision> {
        let input = wit::DeviceBinding {
            account_id: i.account_id.clone(),
            developer_type: i.developer_type.clone(),
            review_status: i.review_status.clone(),
            device_count: i.device_count,
            device_kind: i.device_kind.clone(),
            gateway: i.gateway.clone(),
        };
        self.call_on_device_binding(s, &ctx(c), &input).map(decision)
    }

    fn sign_in(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &SignInInput) -> wasmtime::Result<Decision> {
        let input =
            wit::SignIn { account_id: i.account_id.clone(), method: i.method.clone(), new_device: i.new_device };
        self.call_on_sign_in(s, &ctx(c), &input).map(decision)
    }

    fn token_claims(&self, s: &mut Store<HostState>, c: &Call<'_>, i: &ClaimsInput) -> wasmtime::Result<RawClaims> {
        let input = wit::TokenClaimsInput {
            account_id: i.account_id.clone(),
            client_id: i.client_id.clone(),
            scopes: i.scopes.clone(),
            developer_type: i.developer_type.clone(),
            review_status: i.review_status.clone(),
            device_count: i.device_count,
        };
        let c = self.call_on_token_claims(s, &ctx(c), &input)?;
        Ok(RawClaims { id_token: c.id_token, access_token: c.access_token, userinfo: c.userinfo })
    }

    fn account_deletion(
        &self,
        s: &mut Store<HostState>,
        c: &Call<'_>,
        i: &DeletionInput,
    ) -> wasmtime::Result<Decision> {
        let input = wit::AccountDeletion { account_id: i.account_id.clone() };
        self.call_on_account_deletion(s, &ctx(c), &input).map(decision)
    }
}
