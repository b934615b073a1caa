//! Sign-in with third-party accounts (R17, R28): the trip to the upstream and back,
//! the first-sign-in choices (a new account, or a link after proof), the required
//! mobile or email, and the linked accounts in the account center.

mod callback;
mod first;
mod linked;
mod start;

use axum::http::header::SET_COOKIE;
use axum::response::Response;
use latchkey_core::signin::FederatedStep;

use crate::state::{AppState, Services};
use crate::ui::signed_in;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::set_cookie;
use crate::web::page::Page;
use crate::web::{paths, respond};

/// The callback URL an upstream sends the person back to.
pub fn callback_url(svc: &Services, tenant: &str, upstream: &str) -> String {
    format!("{}/t/{tenant}/federation/{upstream}/callback", svc.public_url)
}

/// Answers a federated step that leaves the current page: the first-sign-in or the
/// contact page (the browser keeps the pending sign-in's token), or the sign-in
/// going on like any other (the pending cookie cleared). The steps a first-sign-in
/// page shows itself never reach here; should one, the sign-in has expired.
fn answer(svc: &Services, tenant: &str, page: &Page, step: FederatedStep) -> ApiResult<Response> {
    let path = cookies::session_path(tenant);
    let (to, token) = match step {
        FederatedStep::First { token } => ("/federation/first", token),
        FederatedStep::Contact { token } => ("/federation/contact", token),
        FederatedStep::Step(step) => {
            let mut resp = signed_in::render_step(svc, tenant, page, step)?;
            resp.headers_mut()
                .append(SET_COOKIE, set_cookie(cookies::FEDERATED_PENDING, "", &path, Some(0), svc.secure_cookies));
            return Ok(resp);
        }
        _ => return Ok(first::expired(svc, tenant, page)),
    };
    let mut resp = respond::found(&paths::tenant(tenant, to));
    resp.headers_mut()
        .append(SET_COOKIE, set_cookie(cookies::FEDERATED_PENDING, &token, &path, None, svc.secure_cookies));
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    start::router().merge(callback::router()).merge(first::router()).merge(linked::router())
}
