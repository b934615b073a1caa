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
use crate::web::page::Page;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use latchkey_core::{ManualClock, Store};

    use super::*;
    use crate::config::Config;

    async fn body(resp: Response) -> (StatusCode, String) {
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// A URI stored before the registration rules never becomes a form action or a
    /// Location (issue 10 item 11).
    #[tokio::test]
    async fn p2_form_post_never_renders_an_unsafe_action() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let store = Store::open(&dir.path().join("store")).unwrap();
        let svc = Services::new(&config, store, Arc::new(ManualClock::new()), String::new()).unwrap();
        let to = |uri: &str, mode| Redirect { redirect_uri: uri.into(), response_mode: mode, state: None };
        for uri in ["javascript:alert(document.cookie)", "data:text/html,x", "vbscript:x"] {
            for mode in [ResponseMode::FormPost, ResponseMode::Query] {
                let resp = to_client(&svc, "t", &to(uri, mode), vec![("code", "c".into())]);
                assert!(resp.headers().get(header::LOCATION).is_none(), "{uri}");
                let (status, html) = body(resp).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
                assert!(!html.contains("document.forms[0].submit()") && !html.contains("alert("), "{uri}: {html}");
            }
        }
        let (status, html) =
            body(to_client(&svc, "t", &to("com.example.app:/cb", ResponseMode::FormPost), vec![])).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("action=\"com.example.app:&#x2f;cb\""), "{html}");
    }
}
