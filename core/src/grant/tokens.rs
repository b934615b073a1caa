//! What a client does with a token it holds, besides using it: revoke it (RFC 7009)
//! or introspect it (RFC 7662). Revocation is durable before it returns.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::client::Client;
use crate::clock::Clock;
use crate::error::Result;
use crate::grant::{family, revoked};
use crate::keys::Keys;
use crate::store::Store;

/// Revokes and introspects the tenants' access and refresh tokens.
pub struct Tokens {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<Keys>,
    public_url: String,
}

impl Tokens {
    /// The service over the store and the tenants' `keys`; `public_url` makes the
    /// tenants' issuer URLs.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<Keys>, public_url: &str) -> Self {
        Tokens { store, clock, keys, public_url: public_url.to_string() }
    }

    fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    /// Revokes `token` for `client_id`: a refresh token of the client revokes its whole
    /// family, an access token of the client is revoked by its `jti`; anything else is
    /// left alone (and answered like a known token). Durable before it returns.
    pub async fn revoke(&self, tenant: &str, client_id: &str, token: &str) -> Result<()> {
        let now = self.clock.now();
        if let Some(rt) = family::find(&self.store, tenant, token, now)? {
            if rt.grant.client_id == client_id {
                family::revoke(&self.store, tenant, &rt.grant.family)?;
            }
        } else if let Ok(claims) = self.keys.verify_access_token(tenant, &self.issuer(tenant), token)
            && claims["client_id"].as_str() == Some(client_id)
            && let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_u64())
        {
            revoked::revoke(&self.store, tenant, jti, exp)?;
        }
        self.store.commit().await
    }

    /// The introspection answer about `token` for `client` (RFC 7662 §2.2): active
    /// only for a live token the client may learn about (`Client::may_introspect`);
    /// any other token reads `{"active": false}`, exactly as an unknown one.
    pub fn introspect(&self, tenant: &str, client: &Client, token: &str) -> Result<Value> {
        let now = self.clock.now();
        if let Ok(c) = self.keys.verify_access_token(tenant, &self.issuer(tenant), token)
            && client.may_introspect(c["client_id"].as_str().unwrap_or(""))
        {
            return Ok(json!({
                "active": true, "token_type": "Bearer", "scope": c["scope"], "client_id": c["client_id"],
                "sub": c["sub"], "aud": c["aud"], "iss": c["iss"], "exp": c["exp"], "iat": c["iat"], "jti": c["jti"],
            }));
        }
        if let Some(rt) = family::find(&self.store, tenant, token, now)?
            && !rt.used
            && client.may_introspect(&rt.grant.client_id)
            && family::is_live(&self.store, tenant, &rt.grant.family, now)?
        {
            return Ok(json!({
                "active": true, "token_type": "refresh_token", "scope": rt.grant.scopes.join(" "),
                "client_id": rt.grant.client_id, "sub": rt.grant.account_id, "iss": self.issuer(tenant),
                "exp": rt.expires_at, "iat": rt.issued_at,
            }));
        }
        Ok(json!({ "active": false }))
    }
}
