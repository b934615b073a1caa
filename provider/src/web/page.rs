//! What every page needs: its locale, a CSRF token (bound to the browser's nonce
//! cookie and its session, see `ui::csrf`), rendering.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::secret;
use serde_json::{Map, Value, json};

use crate::state::Services;
use crate::web::csrf::CsrfKey;
use crate::web::http::set_cookie;
use crate::web::i18n::{self, Locale};

/// The CSRF nonce cookie over http; `__Host-lk_csrf` under https (`ui::csrf`).
pub const CSRF_COOKIE: &str = crate::web::csrf::COOKIE;

/// The locale and CSRF token of one page view.
pub struct Page {
    pub locale: Locale,
    /// The token this page's forms carry.
    pub csrf: String,
    /// The browser's CSRF nonce and its cookie's name, set with the page when new.
    nonce: String,
    cookie_name: &'static str,
    new_csrf: bool,
    /// The locale the page was asked for by `ui_locales`, which its links and forms
    /// carry on (Accept-Language needs no carrying).
    asked: Option<Locale>,
}

impl Page {
    pub fn new(headers: &HeaderMap, ui_locales: Option<&str>) -> Page {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let key = CsrfKey::current();
        let existing = key.as_ref().and_then(|k| k.nonce(headers));
        let nonce = existing.clone().unwrap_or_else(secret::token);
        Page {
            locale: Locale::negotiate(ui_locales, accept),
            new_csrf: existing.is_none(),
            // Without the server key (outside the CSRF layer) a token that never validates.
            csrf: key.as_ref().map_or_else(secret::token, |k| k.token(&nonce, headers)),
            cookie_name: key.map_or(CSRF_COOKIE, |k| k.cookie_name()),
            nonce,
            asked: ui_locales.and_then(Locale::requested),
        }
    }

    /// `url` (a path, maybe with a query) with the asked-for `ui_locales` added, so
    /// the next page speaks the same language.
    pub fn keep_locale(&self, url: &str) -> String {
        match self.asked {
            Some(l) if !url.contains("ui_locales=") => {
                format!("{url}{}ui_locales={}", if url.contains('?') { '&' } else { '?' }, l.tag())
            }
            _ => url.to_string(),
        }
    }

    /// True if a submitted form carries this browser's CSRF token for its current
    /// session: empty tokens, a missing cookie or a token of another browser or
    /// session are refused.
    pub fn csrf_ok(headers: &HeaderMap, submitted: Option<&str>) -> bool {
        CsrfKey::current().is_some_and(|k| k.verify(headers, submitted))
    }

    pub fn text(&self, key: &str) -> &'static str {
        i18n::text(self.locale, key)
    }

    /// Renders `template` with `ctx` plus `locale`, `t` (texts), `csrf` and
    /// `ui_locales` (the asked-for locale, or empty).
    pub fn render(&self, svc: &Services, status: StatusCode, template: &str, ctx: Value) -> Response {
        let mut m: Map<String, Value> = match ctx {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("locale".into(), json!(self.locale.tag()));
        m.insert("ui_locales".into(), json!(self.asked.map(Locale::tag).unwrap_or("")));
        m.insert("t".into(), json!(i18n::texts(self.locale)));
        m.insert("csrf".into(), json!(self.csrf));
        let mut resp = svc.templates.render(status, template, Value::Object(m));
        if self.new_csrf {
            resp.headers_mut()
                .append(header::SET_COOKIE, set_cookie(self.cookie_name, &self.nonce, "/", None, svc.secure_cookies));
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

    /// The page an emailed link opens once it has expired or was used (R5, R34).
    pub fn link_dead(&self, svc: &Services) -> Response {
        private_url(self.message(
            svc,
            StatusCode::BAD_REQUEST,
            "link_dead_title",
            self.text("link_dead"),
            Some("code_invalid"),
        ))
    }
}

/// Marks a page whose address holds a secret (an emailed link's token): the browser
/// does not send that address on as the `Referer` of what the page links to.
pub fn private_url(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    resp
}

/// A bare error page when no page context is at hand.
pub fn plain_error(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r22_links_keep_the_asked_for_locale() {
        let none = HeaderMap::new();
        let zh = Page::new(&none, Some("zh-CN"));
        assert_eq!(zh.keep_locale("/t/a/account"), "/t/a/account?ui_locales=zh-CN");
        assert_eq!(zh.keep_locale("/t/a/account?done=email"), "/t/a/account?done=email&ui_locales=zh-CN");
        assert_eq!(zh.keep_locale("/t/a/account?ui_locales=en"), "/t/a/account?ui_locales=en");
        let mut accept = HeaderMap::new();
        accept.insert(header::ACCEPT_LANGUAGE, header::HeaderValue::from_static("zh-CN"));
        let negotiated = Page::new(&accept, Some("fr"));
        assert_eq!(negotiated.locale, Locale::ZhCn);
        assert_eq!(negotiated.keep_locale("/t/a/account"), "/t/a/account", "only an asked-for locale is carried");
    }
}
