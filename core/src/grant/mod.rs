//! Grants: validated authorization requests, authorization codes, refresh-token
//! families, remembered consent, the token request and its grants, token issuance,
//! revoked access tokens and ID-token hints.

pub mod account_families;
pub mod authorizations;
pub mod authorized;
pub mod claims;
pub mod code;
pub mod consent;
mod exchange;
pub mod family;
pub mod id_token;
pub mod id_token_hint;
pub mod issue;
#[cfg(test)]
mod issue_tests;
pub mod oauth_error;
pub mod request;
pub mod revoked;
pub mod token_request;
pub mod tokens;
#[cfg(test)]
mod tokens_kit;

pub use authorizations::Authorizations;
pub use authorized::Authorized;
pub use issue::{Exchanged, Issued, UserInfoRefused};
pub use oauth_error::{OAuthCode, OAuthError};
pub use token_request::{TokenForm, TokenRequest};
pub use tokens::Tokens;

/// Splits a space-separated scope string into distinct scopes, in order.
pub fn split_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}
