//! client_credentials grant: a confidential client gets an access token for itself.

use latchkey_core::client::Client;
use latchkey_core::grant::{OAuthCode, OAuthError};

use crate::oidc::issuer::{self, Issued};
use crate::state::Services;
use crate::web::error::ApiResult;

pub fn exchange(svc: &Services, tenant: &str, client: &Client, scope: &[String]) -> ApiResult<Issued> {
    if client.is_public() {
        return Err(
            OAuthError::new(OAuthCode::UnauthorizedClient, "public clients cannot use client_credentials").into()
        );
    }
    if scope.iter().any(|s| s == "openid" || s == "offline_access") {
        return Err(OAuthError::new(OAuthCode::InvalidScope, "openid and offline_access need a user").into());
    }
    Ok(issuer::for_client(svc, tenant, client, scope)?)
}
