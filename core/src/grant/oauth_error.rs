//! OAuth protocol errors (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 8628 §3.5,
//! OIDC Core §3.1.2.6): the code a client reads and a description, kept apart from
//! the domain [`crate::Error`]. The edge maps them once to a status and a body.

/// An OAuth error code, as the RFCs spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthCode {
    /// RFC 6749 §5.2: a parameter is missing, repeated, malformed or unsupported.
    InvalidRequest,
    /// RFC 6749 §5.2: the client could not be authenticated or is unknown.
    InvalidClient,
    /// RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or not the client's.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant or response type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: the response type is not supported.
    UnsupportedResponseType,
    /// RFC 6749 §5.2: the scope is malformed, unknown or wider than granted.
    InvalidScope,
    /// RFC 6749 §4.1.2.1, RFC 8628 §3.5: the person (or server) denied the request.
    AccessDenied,
    /// OIDC Core §3.1.2.6: `prompt=none`, and the person must sign in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, and the person must consent.
    ConsentRequired,
    /// RFC 6750 §3.1: the access token is invalid.
    InvalidToken,
    /// RFC 6750 §3.1: the access token lacks a scope the resource needs.
    InsufficientScope,
    /// RFC 8628 §3.5: the person has not decided yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device polls too fast.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 6749 §4.1.2.1: the server could not complete the request.
    ServerError,
}

impl OAuthCode {
    /// The code as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthCode::InvalidRequest => "invalid_request",
            OAuthCode::InvalidClient => "invalid_client",
            OAuthCode::InvalidGrant => "invalid_grant",
            OAuthCode::UnauthorizedClient => "unauthorized_client",
            OAuthCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthCode::InvalidScope => "invalid_scope",
            OAuthCode::AccessDenied => "access_denied",
            OAuthCode::LoginRequired => "login_required",
            OAuthCode::ConsentRequired => "consent_required",
            OAuthCode::InvalidToken => "invalid_token",
            OAuthCode::InsufficientScope => "insufficient_scope",
            OAuthCode::AuthorizationPending => "authorization_pending",
            OAuthCode::SlowDown => "slow_down",
            OAuthCode::ExpiredToken => "expired_token",
            OAuthCode::ServerError => "server_error",
        }
    }
}

/// An OAuth error: its code and a description for the developer (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: OAuthCode,
    pub description: String,
}

impl OAuthError {
    /// The error `code`, described by `description`.
    pub fn new(code: OAuthCode, description: impl Into<String>) -> Self {
        OAuthError { code, description: description.into() }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2_codes_are_spelled_as_the_rfcs_do() {
        let all = [
            (OAuthCode::InvalidRequest, "invalid_request"),
            (OAuthCode::InvalidClient, "invalid_client"),
            (OAuthCode::InvalidGrant, "invalid_grant"),
            (OAuthCode::UnauthorizedClient, "unauthorized_client"),
            (OAuthCode::UnsupportedGrantType, "unsupported_grant_type"),
            (OAuthCode::UnsupportedResponseType, "unsupported_response_type"),
            (OAuthCode::InvalidScope, "invalid_scope"),
            (OAuthCode::AccessDenied, "access_denied"),
            (OAuthCode::LoginRequired, "login_required"),
            (OAuthCode::ConsentRequired, "consent_required"),
            (OAuthCode::InvalidToken, "invalid_token"),
            (OAuthCode::InsufficientScope, "insufficient_scope"),
            (OAuthCode::AuthorizationPending, "authorization_pending"),
            (OAuthCode::SlowDown, "slow_down"),
            (OAuthCode::ExpiredToken, "expired_token"),
            (OAuthCode::ServerError, "server_error"),
        ];
        for (code, wire) in all {
            assert_eq!(code.as_str(), wire);
        }
    }
}
