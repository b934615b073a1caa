//! Who is calling the account API: a bearer access token with the `account` scope,
//! or the browser's session in the tenant. JSON bodies are required for writes, so
//! a cross-site form cannot ride on the session cookie.

use axum::http::HeaderMap;
use latchkey_core::session::Session;

use crate::error::{ApiError, ApiResult};
use crate::http::bearer;
use crate::oidc::flow::session_of;
use crate::oidc::issuer;
use crate::state::Services;

/// The account scope apps ask for to call the account API.
pub const ACCOUNT_SCOPE: &str = "account";

/// An authenticated account holder.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    /// The session the call belongs to, if known (cookie, or the token's `sid`).
    pub sid: Option<String>,
    /// The browser session itself (cookie callers only).
    pub session: Option<Session>,
}

/// Authenticates the caller of an account API request.
pub fn caller(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Caller> {
    if let Some(token) = bearer(headers) {
        let claims = issuer::verify_access_token(svc, tenant, token)?;
        let scopes = claims["scope"].as_str().unwrap_or("");
        if !scopes.split(' ').any(|s| s == ACCOUNT_SCOPE) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token lacks the account scope",
            ));
        }
        let account_id = claims["sub"].as_str().unwrap_or("").to_string();
        if claims["client_id"].as_str() == Some(account_id.as_str()) || svc.accounts.get(tenant, &account_id).is_err() {
            return Err(ApiError::unauthorized("invalid_token", "the token names no account"));
        }
        return Ok(Caller { account_id, sid: claims["sid"].as_str().map(str::to_string), session: None });
    }
    match session_of(svc, tenant, headers)? {
        Some((_, s)) => Ok(Caller { account_id: s.account_id.clone(), sid: Some(s.sid.clone()), session: Some(s) }),
        None => Err(ApiError::unauthorized("unauthorized", "sign in, or send a bearer token with the account scope")),
    }
}
