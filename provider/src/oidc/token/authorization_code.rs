//! authorization_code grant: redeem the code (single use, PKCE), issue tokens.

use latchkey_core::client::Client;
use latchkey_core::grant::code;

use crate::oidc::issuer::{self, Issued};
use crate::state::Services;
use crate::web::error::ApiResult;

pub fn exchange(
    svc: &Services,
    tenant: &str,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> ApiResult<Issued> {
    let grant = code::redeem(&svc.store, tenant, &client.id, code, redirect_uri, verifier, svc.now())?;
    Ok(issuer::for_grant(svc, tenant, client, &grant)?)
}
