//! The world's exports for a [`Policy`]: the glue `#[policy]` hands to the generated
//! export macro, so the bindings' `Guest` trait stays inside the SDK.

use std::marker::PhantomData;

use crate::bindings::Guest;
use crate::{
    AccountDeletion, Claims, Context, Decision, DeveloperSubmission, DeviceBinding, Manifest, PasswordCheck, Policy,
    Registration, SignIn, SubmissionDecision, TokenClaimsInput,
};

/// Exports the plugin `P`: its manifest (name, version, derived hooks) and its hooks.
pub struct Export<P>(PhantomData<P>);

impl<P: Policy> Guest for Export<P> {
    fn manifest() -> Manifest {
        Manifest { name: P::NAME.into(), version: P::VERSION.into(), hooks: P::HOOKS.to_vec() }
    }
    fn on_registration(ctx: Context, input: Registration) -> Decision {
        P::on_registration(ctx, input)
    }
    fn on_password(ctx: Context, input: PasswordCheck) -> Decision {
        P::on_password(ctx, input)
    }
    fn on_developer_submission(ctx: Context, input: DeveloperSubmission) -> SubmissionDecision {
        P::on_developer_submission(ctx, input)
    }
    fn on_device_binding(ctx: Context, input: DeviceBinding) -> Decision {
        P::on_device_binding(ctx, input)
    }
    fn on_sign_in(ctx: Context, input: SignIn) -> Decision {
        P::on_sign_in(ctx, input)
    }
    fn on_token_claims(ctx: Context, input: TokenClaimsInput) -> Claims {
        P::on_token_claims(ctx, input)
    }
    fn on_account_deletion(ctx: Context, input: AccountDeletion) -> Decision {
        P::on_account_deletion(ctx, input)
    }
}
