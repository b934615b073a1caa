//! The authenticator app (TOTP, R20): after the identity check (the current
//! password, issue 10 item 4), set up with a QR code or the key typed in, confirmed
//! with its first code, and the contacts are told (R38); removed after the identity
//! check.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

use super::{SecurityForm, answer, done, who};
use crate::state::AppState;
use crate::ui::qr;
use crate::web::error::ApiResult;
use crate::web::extract::{ClientIp, HolderForm};
use crate::web::paths;

/// The key in groups of four, as apps ask for it to be typed.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// Starts (or restarts) the setup after the identity check: a fresh key, shown once
/// on this page.
async fn start(State(svc): State<AppState>, posted: HolderForm<SecurityForm>) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let tenant = &holder.tenant;
    let begun = svc.security.begin_totp(tenant, &holder.account, &form.current_password).await;
    answer(
        &svc,
        &posted,
        begun.map(|enrolment| {
            page.render(
                &svc,
                StatusCode::OK,
                "security_totp.html",
                json!({
                    "qr": qr::svg(&enrolment.uri), "uri": enrolment.uri, "secret": grouped(&enrolment.secret),
                    "cancel": page.keep_locale(&super::home(tenant)), "base": paths::tenant(tenant, ""),
                }),
            )
        }),
    )
    .await
}

/// Finishes the setup with the app's first code.
async fn confirm(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let confirmed = svc.security.confirm_totp(&holder.tenant, who(page, holder, &ip), &form.code).await;
    answer(&svc, &posted, confirmed.map(|()| done(page, &holder.tenant, "totp_on"))).await
}

/// Removes the authenticator app, after the identity check.
async fn remove(
    State(svc): State<AppState>,
    ClientIp(ip): ClientIp,
    posted: HolderForm<SecurityForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = &posted;
    let removed = svc.security.remove_totp(&holder.tenant, who(page, holder, &ip), &form.current_password).await;
    answer(&svc, &posted, removed.map(|()| done(page, &holder.tenant, "totp_removed"))).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security/totp/start", post(start))
        .route("/t/{tenant}/account/security/totp/confirm", post(confirm))
        .route("/t/{tenant}/account/security/totp/remove", post(remove))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r20_key_is_grouped_by_four() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        assert_eq!(grouped(""), "");
    }
}
