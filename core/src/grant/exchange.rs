//! The token endpoint's one operation (RFC 6749 §3.2): an authenticated client's
//! [`TokenRequest`] is refused `unauthorized_client` unless the client is registered
//! for its grant, then run by its grant, one file each. A grant that writes does so
//! in one store transaction and is durable before it answers, refusals included: a
//! reused code or refresh token has revoked its family, and that revocation is
//! durable before the `invalid_grant`.

mod authorization_code;
mod client_credentials;
mod device_code;
mod refresh_token;

use crate::client::Client;
use crate::error::Result;
use crate::grant::token_request::TokenRequest;
use crate::grant::{Exchanged, OAuthCode, OAuthError, Tokens};

impl Tokens {
    /// Runs `request` for the authenticated `client`: the tokens, or the OAuth refusal
    /// the client reads (`unauthorized_client`, `invalid_scope`); `invalid_grant` and
    /// the device-flow codes are the outer [`crate::Error`].
    pub async fn exchange(&self, tenant: &str, client: &Client, request: TokenRequest) -> Result<Exchanged> {
        if !client.allows(request.grant_type()) {
            return Ok(Err(OAuthError::new(OAuthCode::UnauthorizedClient, "this client may not use this grant type")));
        }
        match request {
            TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier } => self
                .exchange_code(tenant, client, &code, redirect_uri.as_deref(), code_verifier.as_deref())
                .await
                .map(Ok),
            TokenRequest::RefreshToken { refresh_token, scope } => {
                self.refresh(tenant, client, &refresh_token, scope.as_deref()).await
            }
            TokenRequest::ClientCredentials { scope } => self.client_credentials(tenant, client, &scope).await,
            TokenRequest::DeviceCode { device_code } => self.device_code(tenant, client, &device_code).await.map(Ok),
        }
    }
}

#[cfg(test)]
mod tests;
