//! Token minting and UserInfo: the access token (RFC 9068, ES256), the ID token (the
//! client's algorithm), the refresh token of the grant's family, and the claims they
//! carry (scope-released, developer, plugin). The grants themselves (`grant::exchange`)
//! mint first, then store what they minted with [`write_in`] in the one transaction
//! that also takes the code, rotates the refresh token or redeems the device code.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::client::{Client, GrantType};
use crate::error::Result;
use crate::grant::family::{self, Grant};
use crate::grant::id_token::{self, IdTokenClaims};
use crate::grant::tokens::Tokens;
use crate::grant::{OAuthError, claims};
use crate::keys::{ACCESS_TOKEN_TYP, Alg};
use crate::store::{Tx, TxResult};
use crate::{jwt, policy, secret};

/// Access tokens are signed with ES256: fast, and every JOSE library verifies it.
pub const ACCESS_TOKEN_ALG: Alg = Alg::ES256;

/// What the token endpoint returns (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// A grant's tokens, signed before its transaction, and what that transaction
/// stores of them: the access token's `jti` and expiry on the family, and the
/// refresh token (if any) with its lifetime from `now`.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub issued: Issued,
    jti: String,
    exp: u64,
    now: u64,
    refresh_lifetime: u64,
}

/// Stores what [`Tokens::mint`] signed for `grant`, inside a transaction over
/// [`family::ISSUE_TREES`]: the access token's `jti` on the family (revoked at once if
/// the family is), then the refresh token and the family's longer expiry.
pub(crate) async fn write_in(tx: &Tx<'_>, tenant: &str, grant: &Grant, minted: &Minted) -> TxResult<()> {
    family::record_access_in(tx, tenant, &grant.family, &minted.jti, minted.exp).await?;
    if let Some(token) = &minted.issued.refresh_token {
        family::issue_refresh_in(tx, tenant, grant, token, minted.now, minted.refresh_lifetime).await?;
    }
    Ok(())
}

/// Tokens, or the OAuth refusal the client reads (`invalid_scope`,
/// `unauthorized_client`). Domain refusals (`invalid_grant`, the device-flow codes)
/// are the outer [`crate::Error`].
pub type Exchanged = std::result::Result<Issued, OAuthError>;

/// Why UserInfo refused a valid access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserInfoRefused {
    /// The token lacks the `openid` scope (RFC 6750 §3.1: 403).
    InsufficientScope,
    /// The token's subject is no account (any more).
    NoAccount,
}

impl Tokens {
    /// The UserInfo claims (OIDC Core §5.3) of a bearer access token: what its scopes
    /// release, the developer claims, the plugins' userinfo claims, and `sub`. A bad
    /// token is [`crate::Error::InvalidToken`].
    pub async fn userinfo(
        &self,
        tenant: &str,
        token: &str,
    ) -> Result<std::result::Result<Map<String, Value>, UserInfoRefused>> {
        let at = self.keys.verify_access_token(tenant, &self.issuer(tenant), token).await?;
        let scopes: Vec<String> = at["scope"].as_str().unwrap_or("").split(' ').map(str::to_string).collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Ok(Err(UserInfoRefused::InsufficientScope));
        }
        let Ok(account) = self.accounts.get(tenant, at["sub"].as_str().unwrap_or("")).await else {
            return Ok(Err(UserInfoRefused::NoAccount));
        };
        let mut out = claims::for_scopes(&account, &scopes);
        out.extend(self.developer_claims(tenant, &account.id, &scopes).await?);
        let client_id = at["client_id"].as_str().unwrap_or("");
        claims::merge_into(&mut out, self.plugin_claims(tenant, client_id, &account.id, &scopes).await?.userinfo);
        out.insert("sub".into(), json!(account.id));
        Ok(Ok(out))
    }

    /// Makes what `out`'s operation wrote durable, whatever its outcome.
    pub(crate) async fn durable<T>(&self, out: Result<T>) -> Result<T> {
        self.store.commit().await?;
        out
    }

    pub(crate) async fn access_token(&self, tenant: &str, claims: &Value) -> Result<String> {
        let ring = self.keys.ring(tenant).await?;
        jwt::sign(ring.active(ACCESS_TOKEN_ALG)?, ACCESS_TOKEN_TYP, claims)
    }

    /// Signs the tokens of a user grant whose access and ID tokens carry `scopes` (the
    /// grant's, or a subset on refresh); the refresh token carries the whole grant,
    /// and only a client registered for the refresh_token grant gets one. Writes
    /// nothing: [`write_in`] stores what was minted, in the grant's transaction.
    pub(crate) async fn mint(
        &self,
        tenant: &str,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        now: u64,
    ) -> Result<Minted> {
        let jti = secret::token_of(16);
        let exp = now + client.lifetimes.access_token;
        let scope = scopes.join(" ");
        let extra = self.plugin_claims(tenant, &client.id, &grant.account_id, scopes).await?;
        let mut claims = json!({
            "iss": self.issuer(tenant), "sub": grant.account_id, "aud": client.id, "client_id": client.id,
            "exp": exp, "iat": now, "jti": jti, "scope": scope, "auth_time": grant.auth_time,
            "acr": grant.acr, "amr": grant.amr, "sid": grant.sid,
        });
        claims::merge_extra(&mut claims, extra.access_token);
        let at = self.access_token(tenant, &claims).await?;
        let id_token = if scopes.iter().any(|s| s == "openid") {
            Some(self.id_token(tenant, client, grant, scopes, &at, extra.id_token).await?)
        } else {
            None
        };
        let refresh_token = client.allows(GrantType::RefreshToken).then(secret::token);
        let issued = Issued {
            access_token: at,
            token_type: "Bearer",
            expires_in: client.lifetimes.access_token,
            id_token,
            refresh_token,
            scope,
        };
        Ok(Minted { issued, jti, exp, now, refresh_lifetime: client.lifetimes.refresh_token })
    }

    /// The ID token claims of a grant: the standard account claims `scopes` release,
    /// `sid`, the developer claims, then the plugins' ID-token claims (never a
    /// reserved one).
    pub(crate) async fn id_token_claims(
        &self,
        tenant: &str,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        plugin: Map<String, Value>,
    ) -> Result<IdTokenClaims> {
        let now = self.clock.now();
        let account = self.accounts.get(tenant, &grant.account_id).await?;
        let mut extra = self.developer_claims(tenant, &grant.account_id, scopes).await?;
        claims::merge_into(&mut extra, plugin);
        let mut claims = IdTokenClaims {
            iss: self.issuer(tenant),
            aud: vec![client.id.clone()],
            exp: now + client.lifetimes.id_token,
            iat: now,
            auth_time: grant.auth_time,
            nonce: grant.nonce.clone(),
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            azp: client.id.clone(),
            at_hash: None,
            sub: grant.account_id.clone(),
            preferred_username: None,
            email: None,
            email_verified: None,
            phone_number: None,
            phone_number_verified: None,
            sid: grant.sid.clone(),
            extra,
        };
        claims.set_standard(&claims::for_scopes(&account, scopes));
        Ok(claims)
    }

    async fn id_token(
        &self,
        tenant: &str,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        access_token: &str,
        plugin: Map<String, Value>,
    ) -> Result<String> {
        let claims = self.id_token_claims(tenant, client, grant, scopes, plugin).await?;
        let ring = self.keys.ring(tenant).await?;
        id_token::sign(ring.active(client.id_token_alg)?, claims, access_token)
    }

    /// The developer claims (R14: `developer_type`, `review_status`, `device_quota`,
    /// `developer_support`) when `scopes` hold `profile` or `developer`; empty otherwise.
    async fn developer_claims(&self, tenant: &str, account_id: &str, scopes: &[String]) -> Result<Map<String, Value>> {
        if !claims::releases_developer(scopes) {
            return Ok(Map::new());
        }
        let settings = self.tenants.get(tenant).await?.settings;
        self.developers.claims(tenant, &settings, account_id).await
    }

    /// Claims the tenant's token-claims plugins add (W2: merged in chain order). The
    /// callers never let them replace the registered claims Latchkey sets itself.
    async fn plugin_claims(
        &self,
        tenant: &str,
        client_id: &str,
        account_id: &str,
        scopes: &[String],
    ) -> Result<policy::Claims> {
        let dev = self.developers.facts(tenant, account_id).await?;
        let input = policy::ClaimsInput {
            account_id: account_id.to_string(),
            client_id: client_id.to_string(),
            scopes: scopes.to_vec(),
            developer_type: dev.developer_type,
            review_status: dev.review_status,
            device_count: self.devices.count(tenant, account_id).await?,
        };
        let facts = policy::Facts { client_id: Some(client_id.to_string()), ..Default::default() };
        Ok(self.policy.token_claims(tenant, &facts, &input).await)
    }
}
