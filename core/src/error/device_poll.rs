//! Why a device-flow poll is not (yet) an answer: the RFC 8628 §3.5 error codes, typed.

/// An RFC 8628 §3.5 answer to a device token request, carried by `Error::DeviceFlow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePoll {
    /// The person has not approved or denied yet; poll again.
    AuthorizationPending,
    /// Polling faster than the interval; add 5 seconds and poll again.
    SlowDown,
    /// The device code expired; start a new authorization.
    ExpiredToken,
    /// The person denied the authorization.
    AccessDenied,
}

impl DevicePoll {
    /// The RFC 8628 §3.5 error code.
    pub fn as_str(self) -> &'static str {
        match self {
            DevicePoll::AuthorizationPending => "authorization_pending",
            DevicePoll::SlowDown => "slow_down",
            DevicePoll::ExpiredToken => "expired_token",
            DevicePoll::AccessDenied => "access_denied",
        }
    }
}

impl std::fmt::Display for DevicePoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
