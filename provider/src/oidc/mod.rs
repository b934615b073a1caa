//! OpenID Connect and OAuth 2 endpoints, one file per endpoint.

pub mod authorize;
pub mod client_auth;
pub mod device_authorization;
pub mod discovery;
pub mod end_session;
pub mod flow;
pub mod introspection;
pub mod issuer;
pub mod jwks;
pub mod revocation;
pub mod signing;
pub mod token;
pub mod userinfo;

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
