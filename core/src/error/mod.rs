//! The domain error: stable, greppable codes that the provider maps to HTTP.

mod device_poll;
mod field;
mod kind;
mod refusal;
mod resource;

pub use device_poll::DevicePoll;
pub use field::Field;
pub use kind::IdentifierKind;
pub use refusal::Refusal;
pub use resource::Resource;

/// A domain failure. `code()` is the stable string users and apps see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("this {0} is already taken")]
    IdentifierTaken(IdentifierKind),
    #[error("invalid {field}: {reason}")]
    Invalid { field: Field, reason: String },
    #[error("the identifier or password is wrong")]
    BadCredentials,
    #[error("the client could not be authenticated")]
    InvalidClient,
    #[error("the grant is invalid, expired or already used")]
    InvalidGrant,
    #[error("the grant type is not allowed for this client")]
    UnauthorizedClient,
    #[error("the token is invalid, expired or revoked")]
    InvalidToken,
    #[error("refused by the tenant's policy: {reason}")]
    PolicyDenied { reason: String },
    /// A tenant plugin's denial: its reason code and its message for the person.
    #[error("{message}")]
    PluginDenied { reason: String, message: String },
    /// A well-formed request a rule refuses; the kind carries the stable code.
    #[error("the request was refused: {0}")]
    Refused(Refusal),
    /// A device-flow poll that is not (yet) an answer; carries the RFC 8628 §3.5 code.
    #[error("device authorization: {0}")]
    DeviceFlow(DevicePoll),
    #[error("too many requests; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("the code is wrong")]
    CodeInvalid,
    #[error("the code has expired; ask for a new one")]
    CodeExpired,
    #[error("too many wrong tries; ask for a new code")]
    CodeAttemptsExceeded,
    #[error("unknown code purpose")]
    UnknownPurpose,
    #[error("this {0} is linked to several accounts: sign in with your account name")]
    SeveralAccounts(IdentifierKind),
    #[error("the message could not be delivered")]
    Delivery(String),
    /// The request needs a solved CAPTCHA challenge first (R19).
    #[error("solve the challenge first")]
    CaptchaRequired,
    /// The CAPTCHA answer is wrong, expired or already used.
    #[error("the challenge answer is wrong or expired")]
    CaptchaFailed,
    /// A passkey assertion or registration did not verify.
    #[error("the passkey could not be verified")]
    PasskeyRejected,
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("cryptography failure: {0}")]
    Crypto(&'static str),
    /// A change that could take the account over needs a fresh proof of identity by
    /// a method the account has (issue 10 item 1: R24, R25, R27).
    #[error("prove it is you first: the current password or a code to a recovery channel")]
    ProofRequired,
    /// A bearer token may make recovery-relevant changes only from a first-party app
    /// and a recent sign-in; sign in again.
    #[error("sign in again: this change needs a recent sign-in in a first-party app")]
    ReauthenticationRequired,
}

impl Error {
    /// Shorthand for a validation failure on one field.
    pub fn invalid(field: Field, reason: impl Into<String>) -> Self {
        Error::Invalid { field, reason: reason.into() }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::IdentifierTaken(_) => "identifier_taken",
            Error::Invalid { .. } => "invalid_input",
            Error::BadCredentials => "bad_credentials",
            Error::InvalidClient => "invalid_client",
            Error::InvalidGrant => "invalid_grant",
            Error::UnauthorizedClient => "unauthorized_client",
            Error::InvalidToken => "invalid_token",
            Error::Refused(r) => r.code(),
            Error::DeviceFlow(poll) => poll.as_str(),
            Error::PolicyDenied { .. } | Error::PluginDenied { .. } => "policy_denied",
            Error::RateLimited { .. } => "rate_limited",
            Error::CodeInvalid => "code_invalid",
            Error::CodeExpired => "code_expired",
            Error::CodeAttemptsExceeded => "code_attempts_exceeded",
            Error::UnknownPurpose => "unknown_purpose",
            Error::SeveralAccounts(_) => "several_accounts",
            Error::Delivery(_) => "delivery_failed",
            Error::CaptchaRequired => "captcha_required",
            Error::CaptchaFailed => "captcha_failed",
            Error::PasskeyRejected => "passkey_rejected",
            Error::Storage(_) => "storage_error",
            Error::Crypto(_) => "crypto_error",
            Error::ProofRequired => "proof_required",
            Error::ReauthenticationRequired => "reauthentication_required",
        }
    }

    /// A policy denial with a stable reason code.
    pub fn denied(reason: impl Into<String>) -> Self {
        Error::PolicyDenied { reason: reason.into() }
    }

    /// True for failures that are the server's fault (a 5xx).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Storage(_) | Error::Crypto(_))
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Storage(format!("record encoding: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
