//! Extractors for the preambles pages repeat: the client's IP, a form body checked
//! for this browser's CSRF token (`CsrfForm<T>`), the signed-in account holder of the
//! account center (`Holder`), and both together (`HolderForm<T>`), each rejecting
//! with the answer the page gives today (a localized 403, or the way to sign in).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use latchkey_core::account::Account;
use latchkey_core::session::Session;
use latchkey_core::signin::FlowFacts;
use serde::de::DeserializeOwned;

use crate::state::AppState;
use crate::web::cookies;
use crate::web::http::FormBody;
use crate::web::page::Page;
use crate::web::{paths, respond};

/// The peer's IP address as text; empty when the connection's address is unknown.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(ClientIp(peer.unwrap_or_default()))
    }
}

/// A form a page posts: it carries the page's CSRF token and may carry the asked-for
/// locale.
pub trait Posted {
    /// The CSRF token the form carries.
    fn csrf(&self) -> Option<&str>;
    /// The `ui_locales` the form carries on.
    fn ui_locales(&self) -> Option<&str>;
}

/// A form read as name/value pairs (pages whose fields vary).
impl Posted for std::collections::BTreeMap<String, String> {
    fn csrf(&self) -> Option<&str> {
        self.get("csrf").map(String::as_str)
    }
    fn ui_locales(&self) -> Option<&str> {
        self.get("ui_locales").map(String::as_str)
    }
}

/// Implements [`Posted`] for form structs with `csrf` and `ui_locales` fields.
#[macro_export]
macro_rules! posted_form {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::web::extract::Posted for $t {
            fn csrf(&self) -> Option<&str> {
                self.csrf.as_deref()
            }
            fn ui_locales(&self) -> Option<&str> {
                self.ui_locales.as_deref()
            }
        }
    )+};
}

/// A form body whose CSRF token is this browser's, and the page answering it. A
/// malformed body is a 400; a failed check answers the localized 403 page.
pub struct CsrfForm<T> {
    pub page: Page,
    pub form: T,
}

impl<T: DeserializeOwned + Posted> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, svc: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let FormBody(form) = FormBody::<T>::from_request(req, svc).await.map_err(IntoResponse::into_response)?;
        let page = Page::new(&headers, form.ui_locales());
        if !Page::csrf_ok(&headers, form.csrf()) {
            return Err(page.csrf_refused(svc));
        }
        Ok(CsrfForm { page, form })
    }
}

/// A form posted from a page inside a sign-in flow (sign-in, registration, recovery):
/// it carries the page's CSRF token and the flow's id.
pub trait InFlow {
    /// The CSRF token the form carries.
    fn csrf(&self) -> Option<&str>;
    /// The flow the form continues; empty is none.
    fn flow(&self) -> Option<&str>;
}

/// Implements [`InFlow`] for form structs with `csrf` and `flow` fields.
#[macro_export]
macro_rules! flow_form {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::web::extract::InFlow for $t {
            fn csrf(&self) -> Option<&str> {
                self.csrf.as_deref()
            }
            fn flow(&self) -> Option<&str> {
                self.flow.as_deref().filter(|f| !f.is_empty())
            }
        }
    )+};
}

/// A form body of a page inside a sign-in flow whose CSRF token is this browser's:
/// the flow (read once for the whole request; absent when unknown or expired) and
/// the page in the language the flow asked for. A failed check answers the
/// localized 403 page.
pub struct FlowForm<T> {
    pub page: Page,
    pub saved: Option<FlowFacts>,
    pub form: T,
}

impl<T: DeserializeOwned + InFlow + Send> FromRequest<AppState> for FlowForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, svc: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let tenant = tenant_of(req.uri().path());
        let FormBody(form) = FormBody::<T>::from_request(req, svc).await.map_err(IntoResponse::into_response)?;
        let saved = svc.signins.flow(&tenant, form.flow()).await;
        let page = Page::new(&headers, saved.as_ref().and_then(|f| f.ui_locales.as_deref()));
        if !Page::csrf_ok(&headers, form.csrf()) {
            return Err(page.csrf_refused(svc));
        }
        Ok(FlowForm { page, saved, form })
    }
}

/// The signed-in holder of the account center: the browser's session in the tenant
/// of the path and its account. Without a session, the answer sends the person to
/// sign in.
pub struct Holder {
    pub tenant: String,
    pub session: Session,
    pub account: Account,
}

/// The tenant of a page path (`/t/{tenant}/...`); empty outside a tenant.
fn tenant_of(path: &str) -> String {
    path.strip_prefix("/t/").and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string()
}

impl Holder {
    /// The holder of the request with `parts`, or the answer to send.
    async fn of(parts: &mut Parts, svc: &AppState) -> Result<Holder, Response> {
        let tenant = tenant_of(parts.uri.path());
        let Some((_, session)) =
            cookies::session_of(svc, &tenant, &parts.headers).await.map_err(IntoResponse::into_response)?
        else {
            return Err(respond::found(&paths::tenant(&tenant, paths::LOGIN)));
        };
        let account = svc.accounts.get(&tenant, &session.account_id).await.map_err(|e| {
            let e: crate::web::error::ApiError = e.into();
            e.into_response()
        })?;
        Ok(Holder { tenant, session, account })
    }
}

impl FromRequestParts<AppState> for Holder {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, svc: &AppState) -> Result<Self, Response> {
        Holder::of(parts, svc).await
    }
}

/// A form posted by the account holder: the CSRF check first (a 403 page), then the
/// session (else to sign-in), as the account center's forms have always answered.
pub struct HolderForm<T> {
    pub page: Page,
    pub holder: Holder,
    pub form: T,
}

impl<T: DeserializeOwned + Posted> FromRequest<AppState> for HolderForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, svc: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let holder = Holder::of(&mut parts, svc).await;
        let CsrfForm { page, form } = CsrfForm::<T>::from_request(Request::from_parts(parts, body), svc).await?;
        Ok(HolderForm { page, holder: holder?, form })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use latchkey_core::account::NewAccount;
    use latchkey_core::session::Origin;
    use latchkey_core::{ManualClock, Store, secret};
    use serde::Deserialize;

    use super::*;
    use crate::config::Config;
    use crate::state::Services;
    use crate::web::csrf::{self, CsrfKey};

    #[derive(Deserialize)]
    struct Form {
        csrf: Option<String>,
        ui_locales: Option<String>,
    }
    crate::posted_form!(Form);

    fn state(dir: &std::path::Path) -> AppState {
        let config = Config { data_dir: dir.to_path_buf(), ..Config::default() };
        let store = Store::open(&dir.join("store")).unwrap();
        AppState(Arc::new(Services::new(&config, store, Arc::new(ManualClock::new()), String::new()).unwrap()))
    }

    /// A form post to a page of tenant `t` with these cookies and this body.
    fn post(cookies: &str, body: &str) -> Request {
        Request::builder()
            .method("POST")
            .uri("/t/t/account/sessions/end")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies)
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    /// The CSRF token this browser's forms carry.
    fn token(key: &CsrfKey, cookies: &str) -> String {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::COOKIE, cookies.parse().unwrap());
        key.token(&key.nonce(&h).unwrap(), &h)
    }

    async fn extract(svc: &AppState, req: Request) -> Result<HolderForm<Form>, Response> {
        let key = CsrfKey::new(svc.sealer.clone(), false);
        csrf::with_key(key, HolderForm::<Form>::from_request(req, svc)).await
    }

    /// The account center's forms answer as they always have: a failed CSRF check is
    /// the 403 page even without a session; then, without a session, to sign-in.
    #[tokio::test]
    async fn u_holder_forms_check_csrf_before_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let svc = state(dir.path());
        let key = CsrfKey::new(svc.sealer.clone(), false);
        let signed_out = format!("lk_csrf={}", secret::token());

        let refused = extract(&svc, post(&signed_out, "csrf=wrong")).await.err().unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "CSRF first, even without a session");

        let good = token(&key, &signed_out);
        let to_login = extract(&svc, post(&signed_out, &format!("csrf={good}"))).await.err().unwrap();
        assert_eq!(to_login.status(), StatusCode::FOUND);
        assert_eq!(to_login.headers()[header::LOCATION], "/t/t/login");

        let new = NewAccount {
            email: Some("ada@example.com".into()),
            password: "correct horse".into(),
            ..Default::default()
        };
        let account = svc.accounts.create("t", new).await.unwrap();
        let origin = Origin { user_agent: String::new(), ip: String::new() };
        let (cookie, _) = svc.sessions.start("t", &account.id, vec!["pwd".into()], &origin).await.unwrap();
        let signed_in = format!("{signed_out}; lk_session={cookie}");
        let stale = extract(&svc, post(&signed_in, &format!("csrf={good}"))).await.err().unwrap();
        assert_eq!(stale.status(), StatusCode::FORBIDDEN, "a token from before the sign-in does not count");
        let good = token(&key, &signed_in);
        let held = extract(&svc, post(&signed_in, &format!("csrf={good}&ui_locales=zh-CN"))).await.ok().unwrap();
        assert_eq!(held.holder.account.id, account.id);
        assert_eq!(held.holder.tenant, "t");
        assert_eq!(held.page.keep_locale("/x"), "/x?ui_locales=zh-CN", "the page speaks the asked-for language");
    }

    #[derive(Deserialize)]
    struct InFlowForm {
        csrf: Option<String>,
        flow: Option<String>,
    }
    crate::flow_form!(InFlowForm);

    /// The pages inside a sign-in flow read the flow once: a failed CSRF check answers
    /// the 403 page in the language the flow asked for, a good one hands the handler
    /// the flow; an empty or unknown flow is none, in the browser's language.
    #[tokio::test]
    async fn u_flow_forms_speak_the_flows_language_and_check_csrf() {
        use latchkey_core::grant::request::{self, AuthRequest, ResponseMode};
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let store = Store::open(&dir.path().join("store")).unwrap();
        let clock = Arc::new(ManualClock::new());
        let svc = AppState(Arc::new(Services::new(&config, store.clone(), clock.clone(), String::new()).unwrap()));
        let asked = AuthRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            scopes: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            response_mode: ResponseMode::Query,
            prompt: Default::default(),
            max_age: None,
            login_hint: None,
            ui_locales: Some("zh-CN".into()),
            acr_values: None,
            hint_sub: None,
        };
        let flow = request::save_flow(&store, "t", asked, latchkey_core::Clock::now(&*clock)).await.unwrap();
        let key = CsrfKey::new(svc.sealer.clone(), false);
        let cookies = format!("lk_csrf={}", secret::token());
        let form = |body: String| {
            let req = Request::builder()
                .method("POST")
                .uri("/t/t/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, cookies.as_str())
                .body(Body::from(body))
                .unwrap();
            csrf::with_key(key.clone(), FlowForm::<InFlowForm>::from_request(req, &svc))
        };

        let refused = form(format!("csrf=wrong&flow={flow}")).await.err().unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let body = axum::body::to_bytes(refused.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("lang=\"zh-CN\""), "the flow's language: {}", &body[..200.min(body.len())]);

        let good = token(&key, &cookies);
        let read = form(format!("csrf={good}&flow={flow}")).await.ok().unwrap();
        assert_eq!(read.saved.as_ref().map(|f| f.ui_locales.as_deref()), Some(Some("zh-CN")));
        assert_eq!(read.page.keep_locale("/x"), "/x?ui_locales=zh-CN");
        let none = form(format!("csrf={good}&flow=")).await.ok().unwrap();
        assert!(none.saved.is_none() && none.form.flow.as_deref() == Some(""));
        let unknown = form(format!("csrf={good}&flow=nope")).await.ok().unwrap();
        assert!(unknown.saved.is_none());
    }

    #[test]
    fn u_the_tenant_is_the_path_segment_after_t() {
        assert_eq!(tenant_of("/t/acme/account/security"), "acme");
        assert_eq!(tenant_of("/t/acme"), "acme");
        assert_eq!(tenant_of("/admin/tenants"), "");
    }
}
