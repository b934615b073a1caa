//! The one edge table: each domain error maps once to an HTTP status, a stable code
//! and a localized message key, so JSON answers and pages agree.

use axum::http::StatusCode;
use latchkey_core::{Error, Field, IdentifierKind, Refusal};

/// What the edge answers for one domain error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`{"error": code}` in JSON, shown on pages).
    pub code: &'static str,
    /// What a page says: a localized text, or the error's own words.
    pub text: Text,
}

/// The words a page shows for an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// A message key in `web::i18n`, with the values of its `{placeholders}`.
    Key(&'static str, Vec<(&'static str, String)>),
    /// A tenant plugin's own message, shown as it is (W2).
    Verbatim(String),
}

fn key(k: &'static str) -> Text {
    Text::Key(k, Vec::new())
}

/// The status of a domain error.
pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::IdentifierTaken(_) => StatusCode::CONFLICT,
        Error::Invalid { .. } | Error::InvalidGrant | Error::UnauthorizedClient => StatusCode::BAD_REQUEST,
        // RFC 8628 §3.5: every answer to a device poll but tokens is a 400.
        Error::DeviceFlow(_) => StatusCode::BAD_REQUEST,
        Error::BadCredentials | Error::InvalidClient | Error::InvalidToken => StatusCode::UNAUTHORIZED,
        Error::Refused(r) => refusal_status(*r),
        Error::PolicyDenied { .. } | Error::PluginDenied { .. } => StatusCode::FORBIDDEN,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::CodeInvalid
        | Error::CodeExpired
        | Error::CodeAttemptsExceeded
        | Error::UnknownPurpose
        | Error::SeveralAccounts(_)
        | Error::CaptchaRequired
        | Error::CaptchaFailed => StatusCode::BAD_REQUEST,
        Error::PasskeyRejected => StatusCode::UNAUTHORIZED,
        Error::Delivery(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Storage(_) | Error::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Error::ProofRequired | Error::ReauthenticationRequired => StatusCode::FORBIDDEN,
    }
}

/// The status of a refusal: a conflict with what is already there, or a 403.
fn refusal_status(r: Refusal) -> StatusCode {
    match r {
        Refusal::TotpAlreadyEnabled | Refusal::LastSignInMethod => StatusCode::CONFLICT,
        Refusal::NoSecondFactor
        | Refusal::LastSecondFactor
        | Refusal::ReviewNotPending
        | Refusal::GatewayHasSubDevices
        | Refusal::BindingsChanging => StatusCode::FORBIDDEN,
    }
}

/// The message key of a refusal.
fn refusal_key(r: Refusal) -> &'static str {
    match r {
        Refusal::NoSecondFactor => "sec_no_second_factor",
        Refusal::LastSecondFactor => "sec_last_factor",
        Refusal::LastSignInMethod => "last_sign_in_method",
        Refusal::TotpAlreadyEnabled => "sec_totp_already",
        Refusal::ReviewNotPending => "review_not_pending",
        Refusal::GatewayHasSubDevices => "device_gateway_in_use",
        Refusal::BindingsChanging => "try_again",
    }
}

/// The stable code of a domain error; internals answer `server_error` and never leak.
pub fn code(e: &Error) -> &'static str {
    if e.is_internal() { "server_error" } else { e.code() }
}

/// The page text of a domain error.
pub fn text(e: &Error) -> Text {
    match e {
        Error::NotFound(_) => key("err_not_found"),
        Error::Refused(r) => key(refusal_key(*r)),
        Error::BadCredentials => key("current_password_wrong"),
        Error::SeveralAccounts(_) => key("several_accounts"),
        Error::CodeInvalid | Error::CodeExpired | Error::CodeAttemptsExceeded => key("code_wrong"),
        Error::CaptchaRequired => key("captcha_required"),
        Error::CaptchaFailed => key("captcha_failed"),
        Error::ProofRequired => key("proof_required"),
        Error::ReauthenticationRequired => key("reauthentication_required"),
        Error::Delivery(_) => key("delivery_failed"),
        Error::RateLimited { retry_after } => Text::Key("rate_limited_in", vec![("s", retry_after.to_string())]),
        Error::PluginDenied { message, .. } => Text::Verbatim(message.clone()),
        Error::PolicyDenied { reason } => match reason.as_str() {
            "mobile_range_not_allowed" => key("denied_mobile_range"),
            "too_many_accounts_for_mobile" => key("denied_too_many_accounts"),
            "registration_closed" => key("denied_registration_closed"),
            // A tenant plugin's own reason reaches the person as it is (W2).
            other => Text::Key("denied_other", vec![("reason", other.to_string())]),
        },
        Error::IdentifierTaken(kind) => match kind {
            IdentifierKind::Mobile => key("taken_mobile"),
            IdentifierKind::Email => key("taken_email"),
            IdentifierKind::AccountName => key("taken_account_name"),
            _ => key("taken_other"),
        },
        Error::Invalid { field, .. } => match *field {
            Field::Mobile => key("invalid_mobile"),
            Field::Email => key("invalid_email"),
            Field::AccountName => key("invalid_account_name"),
            Field::Identifier => key("invalid_identifier"),
            Field::Value => key("invalid_same_value"),
            Field::CurrentCode => key("invalid_current_code"),
            Field::Address => key("invalid_address"),
            Field::Password => key("invalid_password"),
            other => Text::Key("invalid_field", vec![("field", other.as_str().to_string())]),
        },
        e if e.is_internal() => key("err_server"),
        _ => key("try_again"),
    }
}

/// The whole entry of a domain error.
pub fn entry(e: &Error) -> Entry {
    Entry { status: status(e), code: code(e), text: text(e) }
}
