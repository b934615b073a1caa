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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Clients, GrantType, NewClient};
    use crate::clock::ManualClock;
    use crate::grant::family::Grant;
    use crate::seal::Sealer;

    const T: &str = "t";

    struct Kit {
        tokens: Tokens,
        store: Store,
        mine: Client,
        other: Client,
        now: u64,
        _dir: tempfile::TempDir,
    }

    fn kit() -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new());
        let sealer = Arc::new(Sealer::new([9; 32]));
        let keys = Arc::new(Keys::new(store.clone(), clock.clone(), sealer.clone(), 3600));
        keys.ensure(T).unwrap();
        let clients = Clients::new(store.clone(), sealer);
        let make = |id: &str| NewClient {
            id: id.into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..NewClient::default()
        };
        let (mine, _) = clients.create(clock.as_ref(), T, make("mine")).unwrap();
        let (other, _) = clients.create(clock.as_ref(), T, make("other")).unwrap();
        let now = clock.now();
        Kit {
            tokens: Tokens::new(store.clone(), clock, keys, "https://id.example"),
            store,
            mine,
            other,
            now,
            _dir: dir,
        }
    }

    /// A refresh token of `client`'s new family: (token, family).
    fn refresh_of(k: &Kit, client: &Client) -> (String, String) {
        let fam = family::open(&k.store, T, &client.id, "alice", k.now + 3600).unwrap();
        let grant = Grant {
            family: fam.clone(),
            client_id: client.id.clone(),
            account_id: "alice".into(),
            scopes: vec!["openid".into()],
            auth_time: k.now,
            amr: vec!["pwd".into()],
            acr: "1".into(),
            sid: "sid".into(),
            nonce: None,
        };
        (family::issue_refresh(&k.store, T, &grant, k.now, 3600).unwrap(), fam)
    }

    #[tokio::test]
    async fn p2_revoking_a_refresh_token_revokes_its_family_for_its_client_only() {
        let k = kit();
        let (token, fam) = refresh_of(&k, &k.mine);
        k.tokens.revoke(T, &k.other.id, &token).await.unwrap();
        assert!(family::is_live(&k.store, T, &fam, k.now).unwrap(), "another client cannot revoke it");
        k.tokens.revoke(T, &k.mine.id, "not-a-token").await.unwrap();
        k.tokens.revoke(T, &k.mine.id, &token).await.unwrap();
        assert!(!family::is_live(&k.store, T, &fam, k.now).unwrap(), "its client revokes the family");
    }

    #[tokio::test]
    async fn p2_introspection_tells_a_client_about_its_own_live_tokens_only() {
        let k = kit();
        let (token, _) = refresh_of(&k, &k.mine);
        let own = k.tokens.introspect(T, &k.mine, &token).unwrap();
        assert_eq!((own["active"].as_bool(), own["client_id"].as_str()), (Some(true), Some("mine")));
        assert_eq!(own["iss"].as_str(), Some("https://id.example/t/t"));
        assert_eq!(k.tokens.introspect(T, &k.other, &token).unwrap(), json!({ "active": false }));
        assert_eq!(k.tokens.introspect(T, &k.mine, "unknown").unwrap(), json!({ "active": false }));
        k.tokens.revoke(T, &k.mine.id, &token).await.unwrap();
        assert_eq!(k.tokens.introspect(T, &k.mine, &token).unwrap(), json!({ "active": false }), "revoked");
    }
}
