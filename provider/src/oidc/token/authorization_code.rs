//! authorization_code grant: redeem the code (single use, PKCE), issue tokens.

use latchkey_core::client::Client;

use crate::oidc::issuer::Issued;
use crate::state::Services;
use crate::web::error::ApiResult;

pub async fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> ApiResult<Issued> {
    Ok(svc.tokens.exchange_code(tenant, client, code, redirect_uri, verifier).await?)
}
