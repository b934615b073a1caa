//! client_credentials grant: a confidential client gets an access token for itself.

use latchkey_core::client::Client;

use crate::oidc::issuer::Issued;
use crate::state::Services;
use crate::web::error::ApiResult;

pub fn exchange(svc: &Services, tenant: &str, client: &Client, scope: &[String]) -> ApiResult<Issued> {
    Ok(svc.tokens.client_credentials(tenant, client, scope)??)
}
