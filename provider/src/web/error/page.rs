//! Error answers on page routes: a handler's `?` (an unknown tenant, a stale form, a
//! refusal) answers a localized page from the same table entry as the JSON answer,
//! unless the browser's script asked for JSON (the passkey ceremonies).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;
use crate::web::error::{ErrorAnswer, Text};
use crate::web::feedback::fill;
use crate::web::page::Page;

/// True when the request sent JSON or asks for JSON rather than a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName| {
        headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
    };
    let asks_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    has(header::CONTENT_TYPE) || (has(header::ACCEPT) && !asks_html)
}

/// The `ui_locales` a page was asked for in its query string.
fn ui_locales(req: &Request) -> Option<String> {
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "ui_locales").map(|(_, v)| v.into_owned())
}

/// The page for an error answer.
pub fn render(svc: &AppState, page: &Page, resp: &Response, answer: &ErrorAnswer) -> Response {
    let text = match &answer.text {
        Text::Verbatim(message) => message.clone(),
        Text::Key(key, values) => {
            let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match page.text(key) {
                "" => answer.description.clone(),
                t => fill(t, &values),
            }
        }
    };
    let mut out = page.message(svc, resp.status(), "error", &text, Some(answer.code));
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = resp.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// Middleware on the page routes: error answers become pages.
pub async fn as_page(State(svc): State<AppState>, req: Request, next: Next) -> Response {
    if wants_json(req.headers()) {
        return next.run(req).await;
    }
    let headers = req.headers().clone();
    let locales = ui_locales(&req);
    let resp = next.run(req).await;
    match resp.extensions().get::<ErrorAnswer>() {
        Some(answer) => {
            let page = Page::new(&headers, locales.as_deref());
            render(&svc, &page, &resp, answer)
        }
        None => resp,
    }
}
