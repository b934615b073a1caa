//! Answering the client at its redirect URI: query string or form_post, always with
//! `state` and `iss` (RFC 9207). The URI is checked again here (`redirect_uri::
//! safe_to_answer`): a URI stored before the registration rules, with a scheme that
//! could run script, never becomes a form action or a Location; an error page instead.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::grant::request::{Redirect, ResponseMode};
use latchkey_core::redirect_uri;
use serde_json::json;

use crate::state::Services;
use crate::ui::page::Page;

/// A 302 to `location`.
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
}

/// Sends `params` (plus state and iss) to the client.
pub fn to_client(svc: &Services, tenant: &str, to: &Redirect, mut params: Vec<(&'static str, String)>) -> Response {
    if let Some(s) = &to.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", svc.issuer(tenant)));
    if !redirect_uri::safe_to_answer(&to.redirect_uri) {
        return Page::new(&HeaderMap::new(), None).message(
            svc,
            StatusCode::BAD_REQUEST,
            "error",
            "the redirect_uri of this client is not allowed",
            Some("invalid_request"),
        );
    }
    match to.response_mode {
        ResponseMode::Query => match url::Url::parse(&to.redirect_uri) {
            Ok(mut u) => {
                u.query_pairs_mut().extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
                found(u.as_str())
            }
            Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
        },
        ResponseMode::FormPost => {
            let fields: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut resp = svc.templates.render(
                StatusCode::OK,
                "form_post.html",
                json!({ "action": to.redirect_uri, "fields": fields }),
            );
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
    }
}

/// Sends an OAuth error to the client.
pub fn error_to_client(svc: &Services, tenant: &str, to: &Redirect, error: &str, description: &str) -> Response {
    to_client(svc, tenant, to, vec![("error", error.to_string()), ("error_description", description.to_string())])
}
