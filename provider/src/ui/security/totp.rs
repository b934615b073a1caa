//! The authenticator app (TOTP, R20): after the identity check (the current
//! password, issue 10 item 4), set up with a QR code or the key typed in, confirmed
//! with its first code, and the contacts are told (R38); removed after the identity
//! check.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use latchkey_core::code::Notice;
use serde_json::{Value, json};

use super::{SecurityForm, done, holder_label, keeps_a_factor, posted, posted_and_proved, record, refused};
use crate::state::AppState;
use crate::ui::qr;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;

/// The key in groups of four, as apps ask for it to be typed.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// Starts (or restarts) the setup after the identity check: a fresh key, shown once
/// on this page.
async fn start(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    let (page, account) = match posted_and_proved(&svc, &tenant, &headers, &form).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let issuer = svc.tenants.get(&tenant)?.display_name;
    let enrolment = match svc.totps.begin(&tenant, &account.id, &issuer, &holder_label(&account)) {
        Ok(e) => e,
        Err(e) => return refused(&svc, &tenant, &page, &account, e),
    };
    svc.store.commit().await?;
    Ok(page.render(
        &svc,
        StatusCode::OK,
        "security_totp.html",
        json!({
            "qr": qr::svg(&enrolment.uri), "uri": enrolment.uri, "secret": grouped(&enrolment.secret),
            "cancel": page.keep_locale(&super::home(&tenant)), "base": format!("/t/{tenant}"),
        }),
    ))
}

/// Finishes the setup with the app's first code.
async fn confirm(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    let (page, account) = match posted(&svc, &tenant, &headers, &form)? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    if let Err(e) = svc.totps.confirm(&tenant, &account.id, &form.code) {
        return refused(&svc, &tenant, &page, &account, e);
    }
    record(&svc, &tenant, &account.id, "totp_enabled", None, &peer.ip().to_string(), Value::Null);
    svc.store.commit().await?;
    svc.accounts.notify(&tenant, &account, Notice::TotpEnabled, page.locale.tag()).await;
    Ok(done(&page, &tenant, "totp_on"))
}

/// Removes the authenticator app, after the identity check.
async fn remove(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<SecurityForm>,
) -> ApiResult<Response> {
    let (page, account) = match posted_and_proved(&svc, &tenant, &headers, &form).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let after = latchkey_core::account::second_factor::Enrolled { totp: false, ..svc.enrolled(&tenant, &account.id)? };
    if let Err(e) = keeps_a_factor(&account, &after) {
        return refused(&svc, &tenant, &page, &account, e);
    }
    if svc.totps.remove(&tenant, &account.id)? {
        record(&svc, &tenant, &account.id, "totp_removed", None, &peer.ip().to_string(), Value::Null);
    }
    svc.store.commit().await?;
    Ok(done(&page, &tenant, "totp_removed"))
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
