//! CSRF tokens bound to the browser and its session. The CSRF cookie holds a random
//! nonce; a form's token is a MAC, under a key derived from the seal key, of that
//! nonce and the browser's session cookie in the tenant (if any). A nonce planted by
//! a sibling subdomain is useless without the victim's session cookie, a token from
//! another browser or from before a sign-in does not match, and every process on the
//! same data directory computes the same tokens. Under https the cookie carries the
//! `__Host-` prefix, so no subdomain can set it at all.
//!
//! The key reaches `Page` through a task-local that [`scope`] (a layer around the
//! whole router) sets for each request; outside it no token validates (fail closed).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::seal::Sealer;
use latchkey_core::secret;

use crate::state::AppState;
use crate::web::http::cookie;

/// The CSRF cookie over plain http (development, loopback).
pub const COOKIE: &str = crate::web::cookies::CSRF;
/// The CSRF cookie under https: host-only, Path=/, Secure, by the browser's rules.
pub const HOST_COOKIE: &str = crate::web::cookies::CSRF_HOST;
/// Length of a nonce and of a token (32 bytes, base64url).
const LEN: usize = 43;

tokio::task_local! {
    static KEY: CsrfKey;
}

/// The server's CSRF key and cookie naming, for one request.
#[derive(Clone)]
pub struct CsrfKey {
    sealer: Arc<Sealer>,
    secure: bool,
}

impl CsrfKey {
    pub fn new(sealer: Arc<Sealer>, secure: bool) -> CsrfKey {
        CsrfKey { sealer, secure }
    }

    /// The key of the request being handled, if the CSRF layer is in place.
    pub fn current() -> Option<CsrfKey> {
        KEY.try_with(CsrfKey::clone).ok()
    }

    /// The cookie name: `__Host-` prefixed under https.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure { HOST_COOKIE } else { COOKIE }
    }

    /// The browser's nonce, if its cookie holds a well-formed one.
    pub fn nonce(&self, headers: &HeaderMap) -> Option<String> {
        cookie(headers, self.cookie_name()).filter(|c| well_formed(c))
    }

    /// The token forms carry for `nonce` in the browser that sent `headers`.
    pub fn token(&self, nonce: &str, headers: &HeaderMap) -> String {
        let session = cookie(headers, crate::web::cookies::SESSION).unwrap_or_default();
        self.sealer.digest("csrf/v1", &format!("{nonce}\0{session}"))
    }

    /// True if `submitted` is this browser's token: a well-formed nonce cookie, a
    /// non-empty token, compared in constant time.
    pub fn verify(&self, headers: &HeaderMap, submitted: Option<&str>) -> bool {
        let (Some(nonce), Some(submitted)) = (self.nonce(headers), submitted.filter(|s| !s.is_empty())) else {
            return false;
        };
        secret::eq(&self.token(&nonce, headers), submitted)
    }
}

fn well_formed(v: &str) -> bool {
    v.len() == LEN && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The layer that makes the server's CSRF key known to the pages of a request.
pub async fn scope(State(svc): State<AppState>, req: Request, next: Next) -> Response {
    KEY.scope(CsrfKey::new(svc.sealer.clone(), svc.secure_cookies), next.run(req)).await
}

/// Runs `f` with `key` as the request's CSRF key (tests).
pub async fn with_key<F: std::future::Future>(key: CsrfKey, f: F) -> F::Output {
    KEY.scope(key, f).await
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    fn headers(cookies: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookies).unwrap());
        h
    }

    #[test]
    fn u_tokens_bind_the_nonce_and_the_session() {
        let key = CsrfKey::new(Arc::new(Sealer::new([5; 32])), false);
        let nonce = secret::token();
        let a = headers(&format!("lk_csrf={nonce}; lk_session=aaa"));
        let token = key.token(&nonce, &a);
        assert!(key.verify(&a, Some(&token)));
        assert!(!key.verify(&a, Some("")), "empty");
        assert!(!key.verify(&a, None), "missing");
        assert!(!key.verify(&a, Some(&nonce)), "the bare nonce (double submit) is not a token");
        let other_session = headers(&format!("lk_csrf={nonce}; lk_session=bbb"));
        assert!(!key.verify(&other_session, Some(&token)), "another session");
        let signed_out = headers(&format!("lk_csrf={nonce}"));
        assert!(!key.verify(&signed_out, Some(&token)));
        assert!(!key.verify(&headers("lk_session=aaa"), Some(&token)), "no cookie");
        let other_key = CsrfKey::new(Arc::new(Sealer::new([6; 32])), false);
        assert!(!other_key.verify(&a, Some(&token)), "another server key");
        // Under https only the __Host- cookie counts.
        let secure = CsrfKey::new(Arc::new(Sealer::new([5; 32])), true);
        assert!(!secure.verify(&a, Some(&token)));
        let host = headers(&format!("__Host-lk_csrf={nonce}; lk_session=aaa"));
        assert!(secure.verify(&host, Some(&token)));
    }
}
