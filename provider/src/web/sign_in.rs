//! Sign-in answers every edge gives: a sign-in that still owes something (a CAPTCHA,
//! a second factor) sends the browser, holding the pending sign-in's token, to the
//! page that collects it. Shared by `ui/` (after a first factor) and `oidc/` (step-up).

use axum::http::header;
use axum::response::Response;

use crate::state::Services;
use crate::web::cookies;
use crate::web::http::set_cookie;
use crate::web::{paths, respond};

/// Sends the browser, holding the pending sign-in's token, to the page that collects what it owes.
pub fn owes(svc: &Services, tenant: &str, token: &str) -> Response {
    let mut resp = respond::found(&paths::tenant(tenant, paths::LOGIN_VERIFY));
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(cookies::PENDING, token, &cookies::session_path(tenant), None, svc.secure_cookies),
    );
    resp
}
