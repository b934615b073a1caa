//! The security headers of every answer, in one layer: a Content-Security-Policy
//! (scripts and styles only from `/assets`, no framing, no `<base>`, forms only to
//! this server and to the tenant's registered client redirect origins, which the
//! consent, sign-in, logout and form_post pages hand the browser on to),
//! `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff`,
//! `X-Frame-Options: DENY`, HSTS when the public URL is https, and
//! `Cache-Control: no-store` on every answer that carries tokens or account data.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::{AppState, Services};

/// The policy before `form-action`.
const CSP_BASE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Paths under `/t/{tenant}` whose answers are never cached: tokens, token state,
/// user data and the account center (API and pages, which show recovery codes and
/// TOTP seeds).
const NO_STORE: &[&str] = &[
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/device_authorization",
    "/par",
    "/api/account",
    "/account",
    "/login",
    "/device",
];

/// The tenant and the rest of a `/t/{tenant}/...` path.
fn tenant_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    let (tenant, rest) = rest.split_once('/').unwrap_or((rest, ""));
    Some((tenant, rest))
}

/// True if the answer to `path` must not be stored by any cache.
pub fn no_store(path: &str) -> bool {
    if path.starts_with("/admin") {
        return true;
    }
    let Some((_, rest)) = tenant_path(path) else { return false };
    let rest = format!("/{rest}");
    NO_STORE.iter().any(|p| rest == *p || rest.starts_with(&format!("{p}/")) || rest.starts_with(&format!("{p}?")))
}

/// The origin (`scheme://host[:port]`) of an http(s) URL.
fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.origin().ascii_serialization())
}

/// The origins a page of `tenant` may send a form (or a form's redirect) to besides
/// itself: the registered redirect and post-logout URIs of the tenant's clients.
async fn form_targets(svc: &Services, tenant: &str) -> Vec<String> {
    let mut out: Vec<String> = svc
        .clients
        .list(tenant)
        .await
        .unwrap_or_default()
        .iter()
        .flat_map(|c| c.redirect_uris.iter().chain(&c.post_logout_redirect_uris))
        .filter_map(|u| origin(u))
        // A source expression holds no spaces, quotes or semicolons.
        .filter(|o| !o.contains([' ', ';', '\'', ',']))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The Content-Security-Policy of a page answering `path`.
pub async fn csp(svc: &Services, path: &str) -> String {
    let mut policy = format!("{CSP_BASE}; form-action 'self'");
    if let Some((tenant, _)) = tenant_path(path) {
        for o in form_targets(svc, tenant).await {
            policy.push(' ');
            policy.push_str(&o);
        }
    }
    policy
}

fn is_html(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

/// The layer: adds the headers to every answer.
pub async fn secure(State(svc): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut resp = next.run(req).await;
    let html = is_html(resp.headers());
    let policy = if html { csp(&svc, &path).await } else { format!("{CSP_BASE}; form-action 'self'") };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if svc.secure_cookies {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000"));
    }
    if no_store(&path) || (html && !h.contains_key(header::CACHE_CONTROL)) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_token_and_account_answers_are_not_stored() {
        for p in [
            "/t/a/token",
            "/t/a/userinfo",
            "/t/a/introspect",
            "/t/a/api/account",
            "/t/a/api/account/sessions/x",
            "/t/a/account/security",
            "/admin/tenants",
        ] {
            assert!(no_store(p), "{p}");
        }
        for p in ["/t/a/jwks", "/t/a/.well-known/openid-configuration", "/assets/captcha.js", "/t/a/accounts-x"] {
            assert!(!no_store(p), "{p}");
        }
    }

    #[test]
    fn u_form_targets_are_origins_only() {
        assert_eq!(origin("https://app.example/cb?x=1").as_deref(), Some("https://app.example"));
        assert_eq!(origin("http://127.0.0.1:9/cb").as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(origin("com.example.app:/cb"), None);
        assert_eq!(origin("javascript:alert(1)"), None);
    }
}
