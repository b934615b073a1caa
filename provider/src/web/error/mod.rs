//! The one error type at the HTTP edge: maps domain errors through `table` to a
//! status, an RFC 6749 style body `{"error", "error_description"}` and, on page
//! routes (`page`), a localized page.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::Error;
use latchkey_core::grant::{OAuthCode, OAuthError};
use serde_json::json;

pub mod page;
pub mod table;
#[cfg(test)]
mod tests;

pub use table::{Entry, Text};

/// An error answered as JSON (APIs, token endpoint).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    pub retry_after: Option<u64>,
    /// The reason code of a policy denial.
    pub reason: Option<String>,
    /// A `WWW-Authenticate` challenge that replaces the one derived from the code
    /// (RFC 6750 §3: no error code when no token was sent; the scope that was missing).
    pub challenge: Option<&'static str>,
    /// What a page says for this error (the table's message); `None` for an error made
    /// at the edge, whose code is its message key. Boxed: the error stays small.
    pub text: Option<Box<Text>>,
}

/// Carried by every error answer so that a page route can render it as a page
/// (`page::as_page`) from the same table entry.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    /// The stable code.
    pub code: &'static str,
    /// The page text.
    pub text: Text,
    /// The English description of the JSON answer, shown when the key has no text.
    pub description: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
            retry_after: None,
            reason: None,
            challenge: None,
            text: None,
        }
    }

    pub fn bad_request(code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub fn unauthorized(code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, description)
    }

    /// A protected resource asked without any bearer token (RFC 6750 §3.1): a 401 whose
    /// challenge carries no error code.
    pub fn bearer_required(description: impl Into<String>) -> Self {
        ApiError { challenge: Some("Bearer realm=\"latchkey\""), ..Self::unauthorized("unauthorized", description) }
    }

    /// A valid token without the scope the resource needs (RFC 6750 §3.1): a 403 whose
    /// challenge names the error and the scope. `challenge` is the whole header value,
    /// e.g. `Bearer error="insufficient_scope", scope="openid"`.
    pub fn insufficient_scope(challenge: &'static str, description: impl Into<String>) -> Self {
        ApiError { challenge: Some(challenge), ..Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description) }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let Entry { status, code, text } = table::entry(&e);
        let mut err = match &e {
            Error::Delivery(cause) => {
                tracing::warn!(%cause, "message delivery failed");
                ApiError::new(status, code, "the message could not be delivered; try again later")
            }
            Error::PluginDenied { reason, message } => {
                ApiError { reason: Some(reason.clone()), ..ApiError::new(status, code, message.clone()) }
            }
            Error::PolicyDenied { reason } => {
                ApiError { reason: Some(reason.clone()), ..ApiError::new(status, code, e.to_string()) }
            }
            Error::RateLimited { retry_after } => {
                ApiError { retry_after: Some(*retry_after), ..ApiError::new(status, code, e.to_string()) }
            }
            e if e.is_internal() => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(status, code, "the server could not complete the request")
            }
            e => ApiError::new(status, code, e.to_string()),
        };
        err.text = Some(Box::new(text));
        err
    }
}

impl From<OAuthError> for ApiError {
    /// RFC 6749 §5.2: 400, but 401 for a client that could not be authenticated and
    /// for a bad access token (RFC 6750 §3.1, which makes a missing scope a 403).
    fn from(e: OAuthError) -> Self {
        let status = match e.code {
            OAuthCode::InvalidClient | OAuthCode::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthCode::InsufficientScope => StatusCode::FORBIDDEN,
            OAuthCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code.as_str(), e.description)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "error_description": self.description.clone() });
        if let Some(r) = self.retry_after {
            body["retry_after"] = json!(r);
        }
        if let Some(r) = &self.reason {
            body["reason"] = json!(r);
        }
        let mut resp = (self.status, Json(body)).into_response();
        let text = self.text.map_or_else(|| Text::Key(self.code, Vec::new()), |t| *t);
        resp.extensions_mut().insert(ErrorAnswer { code: self.code, text, description: self.description });
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.code == "invalid_client" && self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"latchkey\""));
        }
        if self.code == "invalid_token" {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        if self.code == "insufficient_scope" {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"insufficient_scope\""));
        }
        if let Some(c) = self.challenge {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
