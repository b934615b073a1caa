//! The token endpoint (RFC 6749 §3.2): parse the form into a typed request, authenticate
//! the client, run the grant, answer with `Cache-Control: no-store`.

mod authorization_code;
mod client_credentials;
mod device_code;
mod refresh_token;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::client::{Client, GrantType};
use latchkey_core::grant::split_scope;
use latchkey_core::grant::{OAuthCode, OAuthError};
use serde::Deserialize;

use crate::oidc::client_auth;
use crate::oidc::issuer::Issued;
use crate::state::{AppState, Services};
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::FormBody;

/// The token request form as it arrives.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub device_code: Option<String>,
}

/// A token request, parsed into its grant.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<Vec<String>>,
    },
    ClientCredentials {
        scope: Vec<String>,
    },
    /// RFC 8628 §3.4: the device polls with its device code.
    DeviceCode {
        device_code: String,
    },
}

fn required(v: Option<String>, name: &str) -> ApiResult<String> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::new(OAuthCode::InvalidRequest, format!("{name} is missing")).into())
}

impl TokenRequest {
    pub fn parse(f: TokenForm) -> ApiResult<(GrantType, TokenRequest)> {
        let grant = f
            .grant_type
            .as_deref()
            .ok_or_else(|| ApiError::from(OAuthError::new(OAuthCode::InvalidRequest, "grant_type is missing")))?;
        let grant = GrantType::parse(grant).map_err(|_| {
            ApiError::from(OAuthError::new(OAuthCode::UnsupportedGrantType, "grant_type is not supported"))
        })?;
        let req = match grant {
            GrantType::AuthorizationCode => TokenRequest::AuthorizationCode {
                code: required(f.code, "code")?,
                redirect_uri: f.redirect_uri,
                code_verifier: f.code_verifier,
            },
            GrantType::RefreshToken => TokenRequest::RefreshToken {
                refresh_token: required(f.refresh_token, "refresh_token")?,
                scope: f.scope.as_deref().map(split_scope),
            },
            GrantType::ClientCredentials => {
                TokenRequest::ClientCredentials { scope: f.scope.as_deref().map(split_scope).unwrap_or_default() }
            }
            GrantType::DeviceCode => TokenRequest::DeviceCode { device_code: required(f.device_code, "device_code")? },
        };
        Ok((grant, req))
    }
}

/// Runs a token request for an authenticated client.
pub async fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    grant: GrantType,
    req: TokenRequest,
) -> ApiResult<Issued> {
    if !client.allows(grant) {
        return Err(OAuthError::new(OAuthCode::UnauthorizedClient, "this client may not use this grant type").into());
    }
    // Each grant is durable before it answers, refusals included (a reused code or
    // refresh token has revoked its family before the `invalid_grant`): core commits.
    match req {
        TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier } => {
            authorization_code::exchange(svc, tenant, client, &code, redirect_uri.as_deref(), code_verifier.as_deref())
                .await
        }
        TokenRequest::RefreshToken { refresh_token, scope } => {
            refresh_token::exchange(svc, tenant, client, &refresh_token, scope).await
        }
        TokenRequest::ClientCredentials { scope } => client_credentials::exchange(svc, tenant, client, &scope),
        TokenRequest::DeviceCode { device_code } => device_code::exchange(svc, tenant, client, &device_code).await,
    }
}

async fn token(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> ApiResult<Response> {
    svc.tenants.get(&tenant)?;
    let client =
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    let (grant, req) = TokenRequest::parse(form)?;
    let issued = exchange(&svc, &tenant, &client, grant, req).await?;
    let mut resp = Json(issued).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&crate::web::paths::route(crate::web::paths::TOKEN), axum::routing::post(token))
}
