//! refresh_token grant: rotate the refresh token (reuse revokes the family), optionally
//! narrowing the scope of the tokens issued now (never of the grant), and issue fresh
//! tokens. A refused refresh leaves the token as it was.

use latchkey_core::client::Client;

use crate::oidc::issuer::Issued;
use crate::state::Services;
use crate::web::error::ApiResult;

pub async fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    token: &str,
    scope: Option<Vec<String>>,
) -> ApiResult<Issued> {
    Ok(svc.tokens.refresh(tenant, client, token, scope.as_deref()).await??)
}
