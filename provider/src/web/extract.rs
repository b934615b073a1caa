//! Extractors for the preambles pages repeat: the client's IP, a form body checked
//! for this browser's CSRF token (`CsrfForm<T>`), the signed-in account holder of the
//! account center (`Holder`), and both together (`HolderForm<T>`), each rejecting
//! with the answer the page gives today (a localized 403, or the way to sign in).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use latchkey_core::account::Account;
use latchkey_core::session::Session;
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

/// The signed-in holder of the account center: the browser's session in the tenant
/// of the path and its account. Without a session, the answer sends the person to
/// sign in.
pub struct Holder {
    pub tenant: String,
    pub session: Session,
    pub account: Account,
}

/// The tenant named by the route's `{tenant}` segment.
async fn tenant_of(parts: &mut Parts, svc: &AppState) -> Result<String, Response> {
    let params = RawPathParams::from_request_parts(parts, svc).await.map_err(IntoResponse::into_response)?;
    Ok(params.iter().find(|(k, _)| *k == "tenant").map(|(_, v)| v.to_string()).unwrap_or_default())
}

impl Holder {
    /// The holder of the request with `parts`, or the answer to send.
    async fn of(parts: &mut Parts, svc: &AppState) -> Result<Holder, Response> {
        let tenant = tenant_of(parts, svc).await?;
        let Some((_, session)) =
            cookies::session_of(svc, &tenant, &parts.headers).map_err(IntoResponse::into_response)?
        else {
            return Err(respond::found(&paths::tenant(&tenant, paths::LOGIN)));
        };
        let account = svc.accounts.get(&tenant, &session.account_id).map_err(|e| {
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
