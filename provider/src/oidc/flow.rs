//! The step-up of an authorization: the signed-in person owes a second factor
//! because the app asked for `acr` 2. The rest of the flow is `grant::Authorizations`.

use axum::response::Response;
use latchkey_core::account::second_factor::available;
use latchkey_core::grant::request;
use latchkey_core::session::Session;
use latchkey_core::signin::pending::{self, PendingSignIn};

use crate::state::Services;
use crate::ui::signed_in;
use crate::web::error::ApiResult;
use crate::web::paths;
use crate::web::respond;

/// Asks the signed-in person for a second factor because the app asked for `acr` 2
/// (P4); with none set up, the flow goes on with what the session has.
pub async fn step_up(svc: &Services, tenant: &str, id: String, session: &Session) -> ApiResult<Response> {
    let account = svc.accounts.get(tenant, &session.account_id)?;
    if available(&account, &svc.enrolled(tenant, &account.id)?, &session.amr).is_empty() {
        request::skip_step_up(&svc.store, tenant, &id)?;
        svc.store.commit().await?;
        return Ok(respond::found(&paths::next_after_sign_in(tenant, Some(&id))));
    }
    let pending = PendingSignIn {
        account_id: account.id.clone(),
        amr: session.amr.clone(),
        next: paths::next_after_sign_in(tenant, Some(&id)),
        flow: Some(id),
        owes_captcha: false,
        owes_second_factor: true,
        may_remember: false,
        notices: Vec::new(),
        password_expired: false,
        failures: 0,
        expires_at: svc.now() + pending::LIFETIME,
    };
    signed_in::to_verify(svc, tenant, &pending).await
}
