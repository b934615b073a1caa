//! Provider metadata per tenant (OpenID Connect Discovery 1.0), built with openidconnect.

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use latchkey_core::keys::Alg;
use openidconnect::core::{
    CoreClaimName, CoreClientAuthMethod, CoreGrantType, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata,
    ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use crate::oidc::signing::jws_alg;
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::paths;

/// Metadata openidconnect has no field for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtraMetadata {
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    pub revocation_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    pub introspection_endpoint_auth_methods_supported: Vec<CoreClientAuthMethod>,
    /// RFC 8628 §4.
    #[serde(default)]
    pub device_authorization_endpoint: String,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    openidconnect::core::CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    openidconnect::core::CoreClaimType,
    CoreGrantType,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJweKeyManagementAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

fn bad(_: impl std::fmt::Debug) -> ApiError {
    ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "server_error", "bad public_url")
}

/// The metadata of a tenant's issuer.
pub fn metadata(issuer: &str) -> ApiResult<Metadata> {
    let at = |p: &str| format!("{issuer}{p}");
    let secret_methods = vec![CoreClientAuthMethod::ClientSecretBasic, CoreClientAuthMethod::ClientSecretPost];
    let extra = ExtraMetadata {
        end_session_endpoint: at(paths::END_SESSION),
        revocation_endpoint: at(paths::REVOCATION),
        introspection_endpoint: at(paths::INTROSPECTION),
        code_challenge_methods_supported: vec!["S256".into()],
        authorization_response_iss_parameter_supported: true,
        revocation_endpoint_auth_methods_supported: secret_methods.clone(),
        introspection_endpoint_auth_methods_supported: secret_methods.clone(),
        device_authorization_endpoint: at(paths::DEVICE_AUTHORIZATION),
    };
    let mut token_methods = secret_methods;
    token_methods.push(CoreClientAuthMethod::None);
    let claims = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "sid",
        "at_hash",
        "name",
        "preferred_username",
        "updated_at",
        "email",
        "email_verified",
        "phone_number",
        "phone_number_verified",
        "developer_type",
        "review_status",
        "device_quota",
        "developer_support",
    ];
    Ok(Metadata::new(
        IssuerUrl::new(issuer.to_string()).map_err(bad)?,
        AuthUrl::new(at(paths::AUTHORIZE)).map_err(bad)?,
        JsonWebKeySetUrl::new(at(paths::JWKS)).map_err(bad)?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        Alg::ALL.into_iter().map(jws_alg).collect(),
        extra,
    )
    .set_token_endpoint(Some(TokenUrl::new(at(paths::TOKEN)).map_err(bad)?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(at(paths::USERINFO)).map_err(bad)?))
    .set_scopes_supported(Some(
        ["openid", "profile", "email", "phone", "offline_access", "account", "developer"]
            .into_iter()
            .map(|s| Scope::new(s.into()))
            .collect(),
    ))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query, CoreResponseMode::FormPost]))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::ClientCredentials,
        CoreGrantType::DeviceCode,
    ]))
    .set_token_endpoint_auth_methods_supported(Some(token_methods))
    .set_claims_supported(Some(claims.into_iter().map(|c| CoreClaimName::new(c.into())).collect()))
    .set_acr_values_supported(Some(
        latchkey_core::signin::level::ACR_VALUES
            .into_iter()
            .map(|a| AuthenticationContextClass::new(a.into()))
            .collect(),
    ))
    .set_claims_parameter_supported(Some(false))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false)))
}

async fn discovery(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Metadata>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(metadata(&svc.issuer(&tenant))?))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::DISCOVERY), get(discovery))
}
