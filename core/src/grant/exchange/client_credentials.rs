//! client_credentials grant (RFC 6749 §4.4): a confidential client gets an access
//! token for itself, without `openid` or `offline_access` (they need a person).
//! Writes nothing.

use serde_json::json;

use crate::client::Client;
use crate::error::Result;
use crate::grant::issue::Issued;
use crate::grant::tokens::Tokens;
use crate::grant::{Exchanged, OAuthCode, OAuthError};
use crate::secret;

impl Tokens {
    /// A client-credentials access token, or `unauthorized_client` for a public
    /// client, `invalid_scope` for a scope that names a person.
    pub(crate) async fn client_credentials(
        &self,
        tenant: &str,
        client: &Client,
        scopes: &[String],
    ) -> Result<Exchanged> {
        if client.is_public() {
            let why = "public clients cannot use client_credentials";
            return Ok(Err(OAuthError::new(OAuthCode::UnauthorizedClient, why)));
        }
        if scopes.iter().any(|s| s == "openid" || s == "offline_access") {
            return Ok(Err(OAuthError::new(OAuthCode::InvalidScope, "openid and offline_access need a user")));
        }
        let now = self.clock.now();
        let exp = now + client.lifetimes.access_token;
        let scope = scopes.join(" ");
        let at = self
            .access_token(
                tenant,
                &json!({
                    "iss": self.issuer(tenant), "sub": client.id, "aud": client.id, "client_id": client.id,
                    "exp": exp, "iat": now, "jti": secret::token_of(16), "scope": scope,
                }),
            )
            .await?;
        Ok(Ok(Issued {
            access_token: at,
            token_type: "Bearer",
            expires_in: client.lifetimes.access_token,
            id_token: None,
            refresh_token: None,
            scope,
        }))
    }
}
