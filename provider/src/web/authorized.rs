//! Rendering what an authorization step came to (`grant::Authorized`): the error
//! page, the answer to the app, the sign-in redirect or the consent page. The
//! authorize endpoint and the consent page both answer through here.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_core::grant::Authorized;
use serde_json::json;

use crate::state::Services;
use crate::web::cookies::SESSION;
use crate::web::http::cookie;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

/// The browser's session cookie value, for the authorization service to look up.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION)
}

/// The response for `outcome`; `page` speaks the language of the request. A step-up
/// is sent to the resume route, which runs it (the authorize endpoint runs it itself).
pub fn render(svc: &Services, tenant: &str, headers: &HeaderMap, page: &Page, outcome: Authorized) -> Response {
    match outcome {
        Authorized::UnknownTenant => {
            page.message(svc, StatusCode::NOT_FOUND, "error", "unknown tenant", Some("invalid_request"))
        }
        Authorized::ErrorPage { error, description } => {
            page.message(svc, StatusCode::BAD_REQUEST, "error", &description, Some(error.as_str()))
        }
        Authorized::ErrorToClient { to, error, description } => {
            respond::error_to_client(svc, tenant, &to, error.as_str(), &description)
        }
        Authorized::SignIn { flow_id } => {
            respond::found(&format!("{}?flow={flow_id}", paths::tenant(tenant, paths::LOGIN)))
        }
        Authorized::StepUp { flow_id, .. } => respond::found(&paths::next_after_sign_in(tenant, Some(&flow_id))),
        Authorized::Consent { flow_id, client_name, scopes, ui_locales } => {
            let page = Page::new(headers, ui_locales.as_deref());
            let scopes: Vec<String> = scopes
                .into_iter()
                .map(|s| match page.text(&format!("scope_{s}")) {
                    "" => s,
                    t => t.to_string(),
                })
                .collect();
            page.render(
                svc,
                StatusCode::OK,
                "consent.html",
                json!({ "client_name": client_name, "scopes": scopes, "flow": flow_id, "action": paths::tenant(tenant, paths::CONSENT) }),
            )
        }
        Authorized::Redirect { to, params } => respond::to_client(svc, tenant, &to, params),
        Authorized::Expired => page.message(svc, StatusCode::BAD_REQUEST, "error", page.text("flow_expired"), None),
    }
}
