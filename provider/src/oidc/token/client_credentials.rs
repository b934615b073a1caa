//! client_credentials grant: a confidential client gets an access token for itself.

use latchkey_core::client::Client;

use crate::oidc::issuer::{self, Issued};
use crate::state::Services;
use crate::web::error::{ApiError, ApiResult};

pub fn exchange(svc: &Services, tenant: &str, client: &Client, scope: &[String]) -> ApiResult<Issued> {
    if client.is_public() {
        return Err(ApiError::bad_request("unauthorized_client", "public clients cannot use client_credentials"));
    }
    if scope.iter().any(|s| s == "openid" || s == "offline_access") {
        return Err(ApiError::bad_request("invalid_scope", "openid and offline_access need a user"));
    }
    Ok(issuer::for_client(svc, tenant, client, scope)?)
}
