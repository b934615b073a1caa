//! Recovery codes (R20): after the identity check, a new set of ten replaces the
//! old one and is shown once, on the answer to the form; never again. The contacts
//! are told (R38).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use super::{SecurityForm, answer, who};
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ClientIp, HolderForm};

/// Makes a new set and shows it.
async fn generate(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let tenant = &holder.tenant;
    let made = svc.security.new_recovery_codes(tenant, who(page, holder, &ip), &form.current_password).await;
    answer(
        &svc,
        &posted,
        made.map(|codes| {
            page.render(
                &svc,
                StatusCode::OK,
                "security_codes.html",
                json!({ "codes": codes, "back": page.keep_locale(&super::home(tenant)) }),
            )
        }),
    )
    .await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/account/security/recovery-codes", post(generate))
}
