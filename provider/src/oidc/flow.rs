//! The step-up of an authorization: the signed-in person owes a second factor
//! because the app asked for `acr` 2. The rest of the flow is `grant::Authorizations`.

use axum::response::Response;
use latchkey_core::session::Session;

use crate::state::Services;
use crate::web::error::ApiResult;
use crate::web::paths;
use crate::web::respond;
use crate::web::sign_in;

/// Asks the signed-in person for a second factor because the app asked for `acr` 2
/// (P4); with none set up, the flow goes on with what the session has.
pub async fn step_up(svc: &Services, tenant: &str, id: String, session: &Session) -> ApiResult<Response> {
    let next = paths::next_after_sign_in(tenant, Some(&id));
    Ok(match svc.signins.step_up(tenant, &id, session, next.clone()).await? {
        latchkey_core::signin::step_up::StepUp::Skipped => respond::found(&next),
        latchkey_core::signin::step_up::StepUp::Owes { token } => sign_in::owes(svc, tenant, &token),
    })
}
