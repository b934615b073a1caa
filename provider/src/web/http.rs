//! Small HTTP helpers shared by handlers: body extractors that answer malformed input
//! with a 400 and a code, cookies, bearer tokens, request origin.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use latchkey_core::session::Origin;
use serde::de::DeserializeOwned;

use crate::web::error::ApiError;

/// Largest request body accepted anywhere (forms and JSON).
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body; malformed input is `400 invalid_request`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError::bad_request("invalid_request", e.body_text())),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`); malformed input is a 400.
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(FormBody(v)),
            Err(e) => Err(ApiError::bad_request("invalid_request", e.body_text())),
        }
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure under https. `max_age`
/// `Some(0)` deletes the cookie; `None` makes a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Where a request came from: user agent and peer address.
pub fn origin(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> Origin {
    Origin {
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
    }
}

/// The request facts a policy hook receives.
pub fn facts(
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    client_id: Option<&str>,
) -> latchkey_core::policy::Facts {
    let o = origin(headers, peer);
    latchkey_core::policy::Facts { client_id: client_id.map(str::to_string), ip: o.ip, user_agent: o.user_agent }
}
