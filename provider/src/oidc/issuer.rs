//! Minting tokens: RFC 9068 access tokens (JWT, `typ: at+jwt`, ES256), ID tokens
//! through openidconnect (the client's algorithm, `at_hash`), refresh tokens.

use chrono::{TimeZone, Utc};
use latchkey_core::client::{Client, GrantType};
use latchkey_core::grant::family::{self, Grant};
use latchkey_core::keys::Alg;
use latchkey_core::{Error, Result, jwt, secret};
use openidconnect::core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass, AuthenticationMethodReference, ClientId,
    EndUserEmail, EndUserPhoneNumber, EndUserUsername, IdToken, IdTokenClaims, IssuerUrl, Nonce, StandardClaims,
    SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::oidc::claims;
use crate::oidc::signing::{OidcKey, jws_alg};
use crate::state::Services;

/// Access tokens are signed with ES256: fast, and every JOSE library verifies it.
pub const ACCESS_TOKEN_ALG: Alg = Alg::ES256;
pub use latchkey_core::keys::ACCESS_TOKEN_TYP;

/// Claims beyond the standard ones that Latchkey's ID tokens carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatchkeyClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Further claims released by the granted scopes (the developer claims, R14).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}
impl AdditionalClaims for LatchkeyClaims {}

pub type LatchkeyIdToken =
    IdToken<LatchkeyClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// What the token endpoint returns.
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

fn access_token(svc: &Services, tenant: &str, claims: Value) -> Result<String> {
    let ring = svc.keys.ring(tenant)?;
    jwt::sign(ring.active(ACCESS_TOKEN_ALG)?, ACCESS_TOKEN_TYP, &claims)
}

/// Tokens for a user grant (from a code or a refresh token).
pub fn for_grant(svc: &Services, tenant: &str, client: &Client, grant: &Grant) -> Result<Issued> {
    for_grant_scoped(svc, tenant, client, grant, &grant.scopes)
}

/// Tokens for a user grant whose access and ID tokens carry `scopes` (a subset of the
/// grant's, RFC 6749 §6); the refresh token carries the whole grant.
pub fn for_grant_scoped(
    svc: &Services,
    tenant: &str,
    client: &Client,
    grant: &Grant,
    scopes: &[String],
) -> Result<Issued> {
    let now = svc.now();
    let issuer = svc.issuer(tenant);
    let jti = secret::token_of(16);
    let exp = now + client.lifetimes.access_token;
    let scope = scopes.join(" ");
    let extra = plugin_claims(svc, tenant, &client.id, &grant.account_id, scopes)?;
    let mut claims = json!({
        "iss": issuer, "sub": grant.account_id, "aud": client.id, "client_id": client.id,
        "exp": exp, "iat": now, "jti": jti, "scope": scope, "auth_time": grant.auth_time,
        "acr": grant.acr, "amr": grant.amr, "sid": grant.sid,
    });
    merge_extra(&mut claims, extra.access_token);
    let at = access_token(svc, tenant, claims)?;
    family::record_access(&svc.store, tenant, &grant.family, &jti, exp)?;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(id_token(svc, tenant, client, grant, scopes, &at, extra.id_token)?)
    } else {
        None
    };
    let refresh_token = if client.allows(GrantType::RefreshToken) {
        Some(family::issue_refresh(&svc.store, tenant, grant, now, client.lifetimes.refresh_token)?)
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

/// Claims the tenant's token-claims plugins add (W2: merged in chain order). They
/// never replace the registered claims Latchkey sets itself.
pub fn plugin_claims(
    svc: &Services,
    tenant: &str,
    client_id: &str,
    account_id: &str,
    scopes: &[String],
) -> Result<latchkey_core::policy::Claims> {
    let dev = svc.developers.facts(tenant, account_id)?;
    let device_count = latchkey_core::device::Devices::new(svc.store.clone()).count(tenant, account_id)?;
    let input = latchkey_core::policy::ClaimsInput {
        account_id: account_id.to_string(),
        client_id: client_id.to_string(),
        scopes: scopes.to_vec(),
        developer_type: dev.developer_type,
        review_status: dev.review_status,
        device_count,
    };
    let facts = latchkey_core::policy::Facts { client_id: Some(client_id.to_string()), ..Default::default() };
    Ok(svc.policy.token_claims(tenant, &facts, &input))
}

/// Adds plugin claims to a claims object, skipping the reserved ones (now in core).
pub use latchkey_core::grant::claims::merge_extra;

fn id_token(
    svc: &Services,
    tenant: &str,
    client: &Client,
    grant: &Grant,
    scopes: &[String],
    access_token: &str,
    plugin: serde_json::Map<String, Value>,
) -> Result<String> {
    let now = svc.now();
    let account = svc.accounts.get(tenant, &grant.account_id)?;
    let released = claims::for_scopes(&account, scopes);
    let mut standard = StandardClaims::new(SubjectIdentifier::new(grant.account_id.clone()));
    if let Some(Value::String(u)) = released.get("preferred_username") {
        standard = standard.set_preferred_username(Some(EndUserUsername::new(u.clone())));
    }
    if let Some(Value::String(e)) = released.get("email") {
        standard = standard
            .set_email(Some(EndUserEmail::new(e.clone())))
            .set_email_verified(released.get("email_verified").and_then(Value::as_bool));
    }
    if let Some(Value::String(p)) = released.get("phone_number") {
        standard = standard
            .set_phone_number(Some(EndUserPhoneNumber::new(p.clone())))
            .set_phone_number_verified(released.get("phone_number_verified").and_then(Value::as_bool));
    }
    let time = |t: u64| Utc.timestamp_opt(t as i64, 0).single().ok_or(Error::Crypto("timestamp"));
    let issuer = IssuerUrl::new(svc.issuer(tenant)).map_err(|_| Error::Crypto("issuer url"))?;
    let claims = IdTokenClaims::new(
        issuer,
        vec![Audience::new(client.id.clone())],
        time(now + client.lifetimes.id_token)?,
        time(now)?,
        standard,
        LatchkeyClaims {
            sid: Some(grant.sid.clone()),
            extra: {
                let mut extra = Value::Object(claims::developer(svc, tenant, &grant.account_id, scopes)?);
                merge_extra(&mut extra, plugin);
                match extra {
                    Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                }
            },
        },
    )
    .set_auth_time(Some(time(grant.auth_time)?))
    .set_nonce(grant.nonce.clone().map(Nonce::new))
    .set_auth_context_ref(Some(AuthenticationContextClass::new(grant.acr.clone())))
    .set_auth_method_refs(Some(grant.amr.iter().cloned().map(AuthenticationMethodReference::new).collect()))
    .set_authorized_party(Some(ClientId::new(client.id.clone())));
    let ring = svc.keys.ring(tenant)?;
    let key = ring.active(client.id_token_alg)?;
    let token = LatchkeyIdToken::new(
        claims,
        &OidcKey(key),
        jws_alg(key.alg),
        Some(&AccessToken::new(access_token.to_string())),
        None,
    )
    .map_err(|_| Error::Crypto("id token signing"))?;
    Ok(token.to_string())
}

/// A client-credentials access token: the client acts for itself.
pub fn for_client(svc: &Services, tenant: &str, client: &Client, scopes: &[String]) -> Result<Issued> {
    let now = svc.now();
    let exp = now + client.lifetimes.access_token;
    let scope = scopes.join(" ");
    let at = access_token(
        svc,
        tenant,
        json!({
            "iss": svc.issuer(tenant), "sub": client.id, "aud": client.id, "client_id": client.id,
            "exp": exp, "iat": now, "jti": secret::token_of(16), "scope": scope,
        }),
    )?;
    Ok(Issued {
        access_token: at,
        token_type: "Bearer",
        expires_in: client.lifetimes.access_token,
        id_token: None,
        refresh_token: None,
        scope,
    })
}

/// Verifies an access token of this tenant: signature, type, issuer, expiry, revocation.
pub fn verify_access_token(svc: &Services, tenant: &str, token: &str) -> Result<Value> {
    svc.keys.verify_access_token(tenant, &svc.issuer(tenant), token)
}
