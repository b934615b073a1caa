//! refresh_token grant: rotate the refresh token (reuse revokes the family), optionally
//! narrowing the scope of the tokens issued now (never of the grant), and issue fresh
//! tokens. A refused refresh leaves the token as it was.

use latchkey_core::client::Client;
use latchkey_core::grant::family::{self, RefreshRefused};
use latchkey_core::grant::{OAuthCode, OAuthError};

use crate::oidc::issuer::{self, Issued};
use crate::state::Services;
use crate::web::error::ApiResult;

pub fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    token: &str,
    scope: Option<Vec<String>>,
) -> ApiResult<Issued> {
    match family::rotate(&svc.store, tenant, &client.id, token, scope.as_deref(), svc.now())? {
        Ok(r) => Ok(issuer::for_grant_scoped(svc, tenant, client, &r.grant, &r.scopes)?),
        Err(RefreshRefused::WiderScope) => {
            Err(OAuthError::new(OAuthCode::InvalidScope, "a refresh cannot widen the scope").into())
        }
        Err(RefreshRefused::Invalid | RefreshRefused::Reused) => Err(latchkey_core::Error::InvalidGrant.into()),
    }
}
