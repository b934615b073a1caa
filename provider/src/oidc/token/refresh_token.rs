//! refresh_token grant: rotate the refresh token (reuse revokes the family), optionally
//! narrowing the scope, and issue fresh tokens.

use latchkey_core::client::Client;
use latchkey_core::grant::family;

use crate::error::{ApiError, ApiResult};
use crate::oidc::issuer::{self, Issued};
use crate::state::Services;

pub fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    token: &str,
    scope: Option<Vec<String>>,
) -> ApiResult<Issued> {
    let mut grant = family::rotate(&svc.store, tenant, &client.id, token, svc.now())?;
    if let Some(narrower) = scope {
        if narrower.iter().any(|s| !grant.has_scope(s)) {
            return Err(ApiError::bad_request("invalid_scope", "a refresh cannot widen the scope"));
        }
        grant.scopes = narrower;
    }
    Ok(issuer::for_grant(svc, tenant, client, &grant)?)
}
