//! Hostile: the same hooks, built against another major version of the world
//! (`latchkey:policy@9.0.0`). The host must refuse it at install.

wit_bindgen::generate!({ world: "policy", path: "wit" });

use latchkey::policy::types::*;

struct Wrong;

impl Guest for Wrong {
    fn manifest() -> Manifest {
        Manifest { name: "wrong-world".into(), version: "9.0.0".into(), hooks: vec![Hook::Registration] }
    }
    fn on_registration(_: Context, _: Registration) -> Decision {
        Decision::Allow
    }
    fn on_password(_: Context, _: PasswordCheck) -> Decision {
        Decision::Allow
    }
    fn on_developer_submission(_: Context, _: DeveloperSubmission) -> SubmissionDecision {
        SubmissionDecision::Accept
    }
    fn on_device_binding(_: Context, _: DeviceBinding) -> Decision {
        Decision::Allow
    }
    fn on_sign_in(_: Context, _: SignIn) -> Decision {
        Decision::Allow
    }
    fn on_token_claims(_: Context, _: TokenClaimsInput) -> Claims {
        Claims { id_token: "{}".into(), access_token: "{}".into(), userinfo: "{}".into() }
    }
    fn on_account_deletion(_: Context, _: AccountDeletion) -> Decision {
        Decision::Allow
    }
}

export!(Wrong);
