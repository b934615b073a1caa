//! The token service: issuance lives in `grant::issue`; here is what a client does
//! with a token it holds besides using it: revoke it (RFC 7009) or introspect it
//! (RFC 7662). Revocation is durable before it returns.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::account::Accounts;
use crate::client::Client;
use crate::clock::Clock;
use crate::developer::Developers;
use crate::device::Devices;
use crate::error::Result;
use crate::grant::{family, revoked};
use crate::keys::Keys;
use crate::policy::PolicyHost;
use crate::store::Store;
use crate::tenant::Tenants;

/// Issues, revokes and introspects the tenants' access, ID and refresh tokens.
pub struct Tokens {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) keys: Arc<Keys>,
    pub(super) public_url: String,
    /// The accounts whose claims tokens carry.
    pub(super) accounts: Arc<Accounts>,
    /// The token-claims plugins (W2).
    pub(super) policy: Arc<PolicyHost>,
    pub(super) tenants: Tenants,
    pub(super) developers: Developers,
    pub(super) devices: Devices,
}

impl Tokens {
    /// The service over the store, the tenants' `keys`, the `accounts` whose claims
    /// tokens carry and the `policy` plugins that add claims; `public_url` makes the
    /// tenants' issuer URLs.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        keys: Arc<Keys>,
        accounts: Arc<Accounts>,
        policy: Arc<PolicyHost>,
        public_url: &str,
    ) -> Self {
        Tokens {
            tenants: Tenants::new(store.clone(), clock.clone()),
            developers: Developers::new(store.clone(), clock.clone()),
            devices: Devices::new(store.clone()),
            store,
            clock,
            keys,
            public_url: public_url.to_string(),
            accounts,
            policy,
        }
    }

    /// The issuer URL of a tenant.
    pub(super) fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    /// Revokes `token` for `client_id`: a refresh token of the client revokes its whole
    /// family, an access token of the client is revoked by its `jti`; anything else is
    /// left alone (and answered like a known token). Durable before it returns.
    pub async fn revoke(&self, tenant: &str, client_id: &str, token: &str) -> Result<()> {
        let now = self.clock.now();
        if let Some(rt) = family::find(&self.store, tenant, token, now).await? {
            if rt.grant.client_id == client_id {
                family::revoke(&self.store, tenant, &rt.grant.family).await?;
            }
        } else if let Ok(claims) = self.keys.verify_access_token(tenant, &self.issuer(tenant), token).await
            && claims["client_id"].as_str() == Some(client_id)
            && let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_u64())
        {
            revoked::revoke(&self.store, tenant, jti, exp).await?;
        }
        self.store.commit().await
    }

    /// The introspection answer about `token` for `client` (RFC 7662 §2.2): active
    /// only for a live token the client may learn about (`Client::may_introspect`);
    /// any other token reads `{"active": false}`, exactly as an unknown one.
    pub async fn introspect(&self, tenant: &str, client: &Client, token: &str) -> Result<Value> {
        let now = self.clock.now();
        if let Ok(c) = self.keys.verify_access_token(tenant, &self.issuer(tenant), token).await
            && client.may_introspect(c["client_id"].as_str().unwrap_or(""))
        {
            return Ok(json!({
                "active": true, "token_type": "Bearer", "scope": c["scope"], "client_id": c["client_id"],
                "sub": c["sub"], "aud": c["aud"], "iss": c["iss"], "exp": c["exp"], "iat": c["iat"], "jti": c["jti"],
            }));
        }
        if let Some(rt) = family::find(&self.store, tenant, token, now).await?
            && !rt.used
            && client.may_introspect(&rt.grant.client_id)
            && family::is_live(&self.store, tenant, &rt.grant.family, now).await?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::tokens_kit::{T, kit};

    #[tokio::test]
    async fn p2_revoking_a_refresh_token_revokes_its_family_for_its_client_only() {
        let k = kit().await;
        let (token, fam) = k.refresh_of(&k.mine).await;
        k.tokens.revoke(T, &k.other.id, &token).await.unwrap();
        assert!(family::is_live(&k.store, T, &fam, k.now).await.unwrap(), "another client cannot revoke it");
        k.tokens.revoke(T, &k.mine.id, "not-a-token").await.unwrap();
        k.tokens.revoke(T, &k.mine.id, &token).await.unwrap();
        assert!(!family::is_live(&k.store, T, &fam, k.now).await.unwrap(), "its client revokes the family");
    }

    #[tokio::test]
    async fn p2_introspection_tells_a_client_about_its_own_live_tokens_only() {
        let k = kit().await;
        let (token, _) = k.refresh_of(&k.mine).await;
        let own = k.tokens.introspect(T, &k.mine, &token).await.unwrap();
        assert_eq!((own["active"].as_bool(), own["client_id"].as_str()), (Some(true), Some("mine")));
        assert_eq!(own["iss"].as_str(), Some("https://id.example/t/t"));
        assert_eq!(k.tokens.introspect(T, &k.other, &token).await.unwrap(), json!({ "active": false }));
        assert_eq!(k.tokens.introspect(T, &k.mine, "unknown").await.unwrap(), json!({ "active": false }));
        k.tokens.revoke(T, &k.mine.id, &token).await.unwrap();
        assert_eq!(k.tokens.introspect(T, &k.mine, &token).await.unwrap(), json!({ "active": false }), "revoked");
    }
}
