//! What every page needs: its locale, a CSRF token (double-submit cookie), rendering.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::secret;
use serde_json::{Map, Value, json};

use crate::http::{cookie, set_cookie};
use crate::state::Services;
use crate::ui::i18n::{self, Locale};

pub const CSRF_COOKIE: &str = "lk_csrf";

/// The locale and CSRF token of one page view.
pub struct Page {
    pub locale: Locale,
    pub csrf: String,
    new_csrf: bool,
}

impl Page {
    pub fn new(headers: &HeaderMap, ui_locales: Option<&str>) -> Page {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let existing = cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43);
        Page {
            locale: Locale::negotiate(ui_locales, accept),
            new_csrf: existing.is_none(),
            csrf: existing.unwrap_or_else(secret::token),
        }
    }

    /// True if a submitted form carries this browser's CSRF token.
    pub fn csrf_ok(headers: &HeaderMap, submitted: Option<&str>) -> bool {
        match (cookie(headers, CSRF_COOKIE), submitted) {
            (Some(c), Some(s)) => secret::eq(&c, s),
            _ => false,
        }
    }

    pub fn text(&self, key: &str) -> &'static str {
        i18n::text(self.locale, key)
    }

    /// Renders `template` with `ctx` plus `locale`, `t` (texts) and `csrf`.
    pub fn render(&self, svc: &Services, status: StatusCode, template: &str, ctx: Value) -> Response {
        let mut m: Map<String, Value> = match ctx {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("locale".into(), json!(self.locale.tag()));
        m.insert("t".into(), json!(i18n::texts(self.locale)));
        m.insert("csrf".into(), json!(self.csrf));
        let mut resp = svc.templates.render(status, template, Value::Object(m));
        if self.new_csrf {
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &self.csrf, "/", None, svc.secure_cookies));
        }
        resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        resp.headers_mut().insert("x-frame-options", header::HeaderValue::from_static("DENY"));
        resp
    }

    /// A page with a title and a message (errors, confirmations).
    pub fn message(
        &self,
        svc: &Services,
        status: StatusCode,
        title_key: &str,
        text: &str,
        code: Option<&str>,
    ) -> Response {
        self.render(
            svc,
            status,
            "message.html",
            json!({ "title": self.text(title_key), "text": text, "code": code, "error": !status.is_success() }),
        )
    }

    /// The answer to a form posted without this browser's CSRF token.
    pub fn csrf_refused(&self, svc: &Services) -> Response {
        self.message(svc, StatusCode::FORBIDDEN, "error", self.text("csrf"), Some("csrf"))
    }
}

/// A bare error page when no page context is at hand.
pub fn plain_error(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}
