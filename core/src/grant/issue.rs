//! Token issuance, one [`Tokens`] method per grant (RFC 6749 §4.1.3, §4.4, §6, RFC
//! 8628 §3.4) and UserInfo: the access token (RFC 9068, ES256), the ID token (the
//! client's algorithm), the refresh token of the grant's family, and the claims they
//! carry (scope-released, developer, plugin). A grant that writes is durable before
//! it answers, refusals included: a reused code or refresh token has revoked its
//! family, and that revocation is durable before the `invalid_grant`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::client::{Client, GrantType};
use crate::error::Result;
use crate::grant::family::{self, Grant, RefreshRefused};
use crate::grant::id_token::{self, IdTokenClaims};
use crate::grant::tokens::Tokens;
use crate::grant::{OAuthCode, OAuthError, claims, code};
use crate::keys::{ACCESS_TOKEN_TYP, Alg};
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
    /// Redeems an authorization code (single use, PKCE, bound redirect URI) and
    /// issues the grant's tokens. A second redemption revokes what the first issued,
    /// durably, before the `invalid_grant`.
    pub async fn exchange_code(
        &self,
        tenant: &str,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued> {
        let now = self.clock.now();
        let issued = code::redeem(&self.store, tenant, &client.id, code, redirect_uri, verifier, now)
            .and_then(|grant| self.for_grant(tenant, client, &grant, &grant.scopes));
        self.durable(issued).await
    }

    /// Rotates a refresh token and issues fresh tokens, optionally narrowed to
    /// `scope` (this issue only; the next refresh token carries the whole grant). A
    /// reused token revokes its family durably before the `invalid_grant`; a wider
    /// scope is `invalid_scope` and leaves the token usable.
    pub async fn refresh(
        &self,
        tenant: &str,
        client: &Client,
        token: &str,
        scope: Option<&[String]>,
    ) -> Result<Exchanged> {
        let now = self.clock.now();
        let issued = match family::rotate(&self.store, tenant, &client.id, token, scope, now) {
            Ok(Ok(r)) => self.for_grant(tenant, client, &r.grant, &r.scopes).map(Ok),
            Ok(Err(RefreshRefused::WiderScope)) => {
                Ok(Err(OAuthError::new(OAuthCode::InvalidScope, "a refresh cannot widen the scope")))
            }
            Ok(Err(RefreshRefused::Invalid | RefreshRefused::Reused)) => Err(crate::Error::InvalidGrant),
            Err(e) => Err(e),
        };
        self.durable(issued).await
    }

    /// A client-credentials access token: a confidential client acts for itself,
    /// without `openid` or `offline_access` (they need a person). Writes nothing.
    pub fn client_credentials(&self, tenant: &str, client: &Client, scopes: &[String]) -> Result<Exchanged> {
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
        let at = self.access_token(
            tenant,
            &json!({
                "iss": self.issuer(tenant), "sub": client.id, "aud": client.id, "client_id": client.id,
                "exp": exp, "iat": now, "jti": secret::token_of(16), "scope": scope,
            }),
        )?;
        Ok(Ok(Issued {
            access_token: at,
            token_type: "Bearer",
            expires_in: client.lifetimes.access_token,
            id_token: None,
            refresh_token: None,
            scope,
        }))
    }

    /// The device's poll (RFC 8628 §3.4, §3.5): `authorization_pending`, `slow_down`,
    /// `access_denied`, `expired_token` until approved, then the grant's tokens in a
    /// new family, exactly once. The poll's bookkeeping is durable before it answers.
    pub async fn device_code(&self, tenant: &str, client: &Client, device_code: &str) -> Result<Issued> {
        let now = self.clock.now();
        let issued = self.devices.poll(tenant, &client.id, device_code, now).and_then(|redeemed| {
            let horizon = now + client.lifetimes.refresh_token.max(client.lifetimes.access_token);
            let family = family::open(&self.store, tenant, &client.id, &redeemed.approval.account_id, horizon)?;
            let grant = redeemed.into_grant(family);
            self.for_grant(tenant, client, &grant, &grant.scopes)
        });
        self.durable(issued).await
    }

    /// The UserInfo claims (OIDC Core §5.3) of a bearer access token: what its scopes
    /// release, the developer claims, the plugins' userinfo claims, and `sub`. A bad
    /// token is [`crate::Error::InvalidToken`].
    pub fn userinfo(
        &self,
        tenant: &str,
        token: &str,
    ) -> Result<std::result::Result<Map<String, Value>, UserInfoRefused>> {
        let at = self.keys.verify_access_token(tenant, &self.issuer(tenant), token)?;
        let scopes: Vec<String> = at["scope"].as_str().unwrap_or("").split(' ').map(str::to_string).collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Ok(Err(UserInfoRefused::InsufficientScope));
        }
        let Ok(account) = self.accounts.get(tenant, at["sub"].as_str().unwrap_or("")) else {
            return Ok(Err(UserInfoRefused::NoAccount));
        };
        let mut out = claims::for_scopes(&account, &scopes);
        out.extend(self.developer_claims(tenant, &account.id, &scopes)?);
        let client_id = at["client_id"].as_str().unwrap_or("");
        claims::merge_into(&mut out, self.plugin_claims(tenant, client_id, &account.id, &scopes)?.userinfo);
        out.insert("sub".into(), json!(account.id));
        Ok(Ok(out))
    }

    /// Makes what `out`'s operation wrote durable, whatever its outcome.
    async fn durable<T>(&self, out: Result<T>) -> Result<T> {
        self.store.commit().await?;
        out
    }

    fn access_token(&self, tenant: &str, claims: &Value) -> Result<String> {
        let ring = self.keys.ring(tenant)?;
        jwt::sign(ring.active(ACCESS_TOKEN_ALG)?, ACCESS_TOKEN_TYP, claims)
    }

    /// Tokens for a user grant whose access and ID tokens carry `scopes` (the grant's,
    /// or a subset on refresh); the refresh token carries the whole grant, and only a
    /// client registered for the refresh_token grant gets one.
    pub(crate) fn for_grant(&self, tenant: &str, client: &Client, grant: &Grant, scopes: &[String]) -> Result<Issued> {
        let now = self.clock.now();
        let jti = secret::token_of(16);
        let exp = now + client.lifetimes.access_token;
        let scope = scopes.join(" ");
        let extra = self.plugin_claims(tenant, &client.id, &grant.account_id, scopes)?;
        let mut claims = json!({
            "iss": self.issuer(tenant), "sub": grant.account_id, "aud": client.id, "client_id": client.id,
            "exp": exp, "iat": now, "jti": jti, "scope": scope, "auth_time": grant.auth_time,
            "acr": grant.acr, "amr": grant.amr, "sid": grant.sid,
        });
        claims::merge_extra(&mut claims, extra.access_token);
        let at = self.access_token(tenant, &claims)?;
        family::record_access(&self.store, tenant, &grant.family, &jti, exp)?;
        let id_token = if scopes.iter().any(|s| s == "openid") {
            Some(self.id_token(tenant, client, grant, scopes, &at, extra.id_token)?)
        } else {
            None
        };
        let refresh_token = if client.allows(GrantType::RefreshToken) {
            Some(family::issue_refresh(&self.store, tenant, grant, now, client.lifetimes.refresh_token)?)
        } else {
            None
        };
        Ok(Issued {
            access_token: at,
            token_type: "Bearer",
            expires_in: client.lifetimes.access_token,
            id_token,
            refresh_token,
            scope,
        })
    }

    /// The ID token claims of a grant: the standard account claims `scopes` release,
    /// `sid`, the developer claims, then the plugins' ID-token claims (never a
    /// reserved one).
    pub(crate) fn id_token_claims(
        &self,
        tenant: &str,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        plugin: Map<String, Value>,
    ) -> Result<IdTokenClaims> {
        let now = self.clock.now();
        let account = self.accounts.get(tenant, &grant.account_id)?;
        let mut extra = self.developer_claims(tenant, &grant.account_id, scopes)?;
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

    fn id_token(
        &self,
        tenant: &str,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        access_token: &str,
        plugin: Map<String, Value>,
    ) -> Result<String> {
        let claims = self.id_token_claims(tenant, client, grant, scopes, plugin)?;
        let ring = self.keys.ring(tenant)?;
        id_token::sign(ring.active(client.id_token_alg)?, claims, access_token)
    }

    /// The developer claims (R14: `developer_type`, `review_status`, `device_quota`,
    /// `developer_support`) when `scopes` hold `profile` or `developer`; empty otherwise.
    fn developer_claims(&self, tenant: &str, account_id: &str, scopes: &[String]) -> Result<Map<String, Value>> {
        if !claims::releases_developer(scopes) {
            return Ok(Map::new());
        }
        let settings = self.tenants.get(tenant)?.settings;
        self.developers.claims(tenant, &settings, account_id)
    }

    /// Claims the tenant's token-claims plugins add (W2: merged in chain order). The
    /// callers never let them replace the registered claims Latchkey sets itself.
    fn plugin_claims(
        &self,
        tenant: &str,
        client_id: &str,
        account_id: &str,
        scopes: &[String],
    ) -> Result<policy::Claims> {
        let dev = self.developers.facts(tenant, account_id)?;
        let input = policy::ClaimsInput {
            account_id: account_id.to_string(),
            client_id: client_id.to_string(),
            scopes: scopes.to_vec(),
            developer_type: dev.developer_type,
            review_status: dev.review_status,
            device_count: self.devices.count(tenant, account_id)?,
        };
        let facts = policy::Facts { client_id: Some(client_id.to_string()), ..Default::default() };
        Ok(self.policy.token_claims(tenant, &facts, &input))
    }
}
