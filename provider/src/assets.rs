//! The pages' static files (`/assets/*`): the style sheet and the scripts, compiled
//! into the binary. Pages carry no inline script or style, so the Content-Security-
//! Policy can say `script-src 'self'; style-src 'self'` (`headers`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// Where the files are served.
pub const PREFIX: &str = "/assets/";

const FILES: &[(&str, &str, &str)] = &[
    ("latchkey.css", "text/css; charset=utf-8", include_str!("../assets/latchkey.css")),
    ("captcha.js", "text/javascript; charset=utf-8", include_str!("../assets/captcha.js")),
    ("passkey_get.js", "text/javascript; charset=utf-8", include_str!("../assets/passkey_get.js")),
    ("passkey_add.js", "text/javascript; charset=utf-8", include_str!("../assets/passkey_add.js")),
    ("form_post.js", "text/javascript; charset=utf-8", include_str!("../assets/form_post.js")),
];

async fn file(Path(name): Path<String>) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(n, ..)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut resp = (StatusCode::OK, *body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/assets/{name}", get(file))
}
