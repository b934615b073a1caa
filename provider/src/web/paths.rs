//! The server's paths: OIDC endpoints under a tenant's issuer (routes and discovery
//! both use these) and the pages other pages and messages link to.

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
/// The page an emailed confirmation link opens (R5), under the tenant.
pub const EMAIL_LINK_PAGE: &str = "/account/email/confirm";
/// The page an emailed recovery link opens (R7), under the tenant.
pub const RECOVER_LINK_PAGE: &str = "/recover/link";

/// The axum route of a path under a tenant.
pub fn route(path: &str) -> String {
    format!("/t/{{tenant}}{path}")
}

/// A path under a tenant: `/t/{tenant}{path}`.
pub fn tenant(tenant: &str, path: &str) -> String {
    format!("/t/{tenant}{path}")
}

/// Where to go after signing in: back into the authorization flow, or the account center.
pub fn next_after_sign_in(tenant: &str, flow: Option<&str>) -> String {
    match flow {
        Some(id) => format!("{}?flow={id}", self::tenant(tenant, RESUME)),
        None => self::tenant(tenant, ACCOUNT),
    }
}

/// The sign-in page, under the tenant.
pub const LOGIN: &str = "/login";
/// The second step of a sign-in (R20), under the tenant.
pub const LOGIN_VERIFY: &str = "/login/verify";
/// Where an authorization flow goes on after sign-in, under the tenant.
pub const RESUME: &str = "/authorize/resume";
/// The consent page's form, under the tenant.
pub const CONSENT: &str = "/consent";
/// The account center's email page (R5), under the tenant.
pub const EMAIL: &str = "/account/email";
/// The account center's password page, under the tenant.
pub const PASSWORD: &str = "/account/password";
/// The account center's linked third-party accounts, under the tenant.
pub const LINKED: &str = "/account/linked";
/// The account center, under the tenant.
pub const ACCOUNT: &str = "/account";
/// The account center's Security section, under the tenant.
pub const SECURITY: &str = "/account/security";
/// The account center's developer page, under the tenant.
pub const DEVELOPER: &str = "/account/developer";
