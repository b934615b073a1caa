//! OpenID Connect and OAuth 2 endpoints, one file per endpoint.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod device_authorization;
pub mod discovery;
pub mod end_session;
pub mod flow;
pub mod introspection;
pub mod issuer;
pub mod jwks;
pub mod respond;
pub mod revocation;
pub mod signing;
pub mod token;
pub mod userinfo;

/// Endpoint paths under a tenant's issuer. Routes and discovery both use these.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const JWKS: &str = "/jwks";
    pub const REVOCATION: &str = "/revoke";
    pub const INTROSPECTION: &str = "/introspect";
    pub const END_SESSION: &str = "/logout";
    pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
    /// The page where people enter a device's user code (RFC 8628 verification URI).
    pub const DEVICE: &str = "/device";

    /// The axum route of an endpoint.
    pub fn route(path: &str) -> String {
        format!("/t/{{tenant}}{path}")
    }
}

pub fn router() -> axum::Router<crate::state::AppState> {
    authorize::router()
        .merge(token::router())
        .merge(discovery::router())
        .merge(jwks::router())
        .merge(userinfo::router())
        .merge(revocation::router())
        .merge(introspection::router())
        .merge(end_session::router())
        .merge(device_authorization::router())
}
