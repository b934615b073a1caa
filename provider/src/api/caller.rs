//! Who is calling the account API: a bearer access token with the `account` scope,
//! or the browser's session in the tenant. JSON bodies are required for writes, so
//! a cross-site form cannot ride on the session cookie.

use axum::http::HeaderMap;
use latchkey_core::account::reauth::{self, TokenFacts};
use latchkey_core::session::Session;

use crate::state::Services;
use crate::web::cookies;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::bearer;

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
    /// How the bearer token was obtained (token callers only).
    pub token: Option<TokenFacts>,
}

impl Caller {
    /// Refuses a recovery-relevant change (password, channels, factors) asked with a
    /// token that is not a first-party app's or whose sign-in is not recent: 403
    /// `reauthentication_required` (issue 10 item 1). A browser session passes here;
    /// the change itself asks it for a proof.
    pub fn may_change_security(&self, svc: &Services) -> ApiResult<()> {
        match &self.token {
            Some(t) => Ok(reauth::token_may_change_security(t, svc.now())?),
            None => Ok(()),
        }
    }
}

/// Authenticates the caller of an account API request.
pub async fn caller(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Caller> {
    if let Some(token) = bearer(headers) {
        let claims = svc.keys.verify_access_token(tenant, &svc.issuer(tenant), token).await?;
        let scopes = claims["scope"].as_str().unwrap_or("");
        if !scopes.split(' ').any(|s| s == ACCOUNT_SCOPE) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token lacks the account scope",
            ));
        }
        let account_id = claims["sub"].as_str().unwrap_or("").to_string();
        if claims["client_id"].as_str() == Some(account_id.as_str())
            || svc.accounts.get(tenant, &account_id).await.is_err()
        {
            return Err(ApiError::unauthorized("invalid_token", "the token names no account"));
        }
        let first_party = match claims["client_id"].as_str() {
            Some(id) => svc.clients.get(tenant, id).await.is_ok_and(|c| c.first_party),
            None => false,
        };
        let token = TokenFacts { first_party, auth_time: claims["auth_time"].as_u64() };
        let sid = claims["sid"].as_str().map(str::to_string);
        return Ok(Caller { account_id, sid, session: None, token: Some(token) });
    }
    match cookies::session_of(svc, tenant, headers).await? {
        Some((_, s)) => {
            Ok(Caller { account_id: s.account_id.clone(), sid: Some(s.sid.clone()), session: Some(s), token: None })
        }
        None => Err(ApiError::unauthorized("unauthorized", "sign in, or send a bearer token with the account scope")),
    }
}
