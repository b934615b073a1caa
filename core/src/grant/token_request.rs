//! The token request (RFC 6749 §3.2, §4.1.3, §4.4.2, §6; RFC 8628 §3.4): the form's
//! fields as they arrive and the typed request per grant they parse into, with the
//! OAuth error each malformed form earns.

use serde::Deserialize;

use crate::client::GrantType;
use crate::grant::{OAuthCode, OAuthError, split_scope};

/// The token request form as it arrives. `client_id` and `client_secret` are for
/// client authentication (`client_secret_post`, public clients); the edge reads them
/// before it parses the rest.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub device_code: Option<String>,
}

/// A token request, parsed into its grant. Validation: `grant_type` is required
/// (`invalid_request`) and one of the four grants (`unsupported_grant_type`); `code`,
/// `refresh_token` and `device_code` are required, non-empty, by their grants
/// (`invalid_request`); `scope` is split on spaces, duplicates dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3: the code, and the redirect URI and PKCE verifier it is bound to.
    AuthorizationCode { code: String, redirect_uri: Option<String>, code_verifier: Option<String> },
    /// RFC 6749 §6: `scope`, when given, narrows the tokens issued now.
    RefreshToken { refresh_token: String, scope: Option<Vec<String>> },
    /// RFC 6749 §4.4.2: the client acts for itself.
    ClientCredentials { scope: Vec<String> },
    /// RFC 8628 §3.4: the device polls with its device code.
    DeviceCode { device_code: String },
}

fn required(v: Option<String>, name: &str) -> Result<String, OAuthError> {
    v.filter(|s| !s.is_empty()).ok_or_else(|| OAuthError::new(OAuthCode::InvalidRequest, format!("{name} is missing")))
}

impl TokenRequest {
    /// Parses the form into its grant's request (see the type's validation).
    pub fn parse(f: TokenForm) -> Result<TokenRequest, OAuthError> {
        let grant = f
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::new(OAuthCode::InvalidRequest, "grant_type is missing"))?;
        let grant = GrantType::parse(grant)
            .map_err(|_| OAuthError::new(OAuthCode::UnsupportedGrantType, "grant_type is not supported"))?;
        Ok(match grant {
            GrantType::AuthorizationCode => TokenRequest::AuthorizationCode {
                code: required(f.code, "code")?,
                redirect_uri: f.redirect_uri,
                code_verifier: f.code_verifier,
            },
            GrantType::RefreshToken => TokenRequest::RefreshToken {
                refresh_token: required(f.refresh_token, "refresh_token")?,
                scope: f.scope.as_deref().map(split_scope),
            },
            GrantType::ClientCredentials => {
                TokenRequest::ClientCredentials { scope: f.scope.as_deref().map(split_scope).unwrap_or_default() }
            }
            GrantType::DeviceCode => TokenRequest::DeviceCode { device_code: required(f.device_code, "device_code")? },
        })
    }

    /// The grant this request is for (what the client must be registered for).
    pub fn grant_type(&self) -> GrantType {
        match self {
            TokenRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            TokenRequest::RefreshToken { .. } => GrantType::RefreshToken,
            TokenRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            TokenRequest::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

    fn form(fields: &[(&str, &str)]) -> TokenForm {
        let pairs: serde_json::Map<String, serde_json::Value> =
            fields.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
        serde_json::from_value(serde_json::Value::Object(pairs)).unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// P2 (RFC 6749 §5.2): each missing field and each unknown grant type is refused
    /// with its RFC code and the description clients read today.
    #[test]
    fn p2_malformed_token_requests_get_their_rfc_codes() {
        use OAuthCode::{InvalidRequest, UnsupportedGrantType};
        type Case = (&'static [(&'static str, &'static str)], OAuthCode, &'static str);
        let cases: &[Case] = &[
            (&[], InvalidRequest, "grant_type is missing"),
            (&[("code", "c")], InvalidRequest, "grant_type is missing"),
            (&[("grant_type", "password")], UnsupportedGrantType, "grant_type is not supported"),
            (&[("grant_type", "implicit")], UnsupportedGrantType, "grant_type is not supported"),
            (&[("grant_type", "")], UnsupportedGrantType, "grant_type is not supported"),
            (&[("grant_type", "device_code")], UnsupportedGrantType, "grant_type is not supported"),
            (&[("grant_type", "authorization_code")], InvalidRequest, "code is missing"),
            (&[("grant_type", "authorization_code"), ("code", "")], InvalidRequest, "code is missing"),
            (&[("grant_type", "refresh_token")], InvalidRequest, "refresh_token is missing"),
            (&[("grant_type", "refresh_token"), ("refresh_token", "")], InvalidRequest, "refresh_token is missing"),
            (&[("grant_type", "refresh_token"), ("code", "c")], InvalidRequest, "refresh_token is missing"),
            (&[("grant_type", DEVICE)], InvalidRequest, "device_code is missing"),
            (&[("grant_type", DEVICE), ("device_code", "")], InvalidRequest, "device_code is missing"),
        ];
        for (fields, code, description) in cases {
            let e = TokenRequest::parse(form(fields)).unwrap_err();
            assert_eq!((e.code, e.description.as_str()), (*code, *description), "{fields:?}");
        }
    }

    /// Well-formed forms parse into their grant's request, scope split and deduplicated.
    #[test]
    fn p2_token_requests_parse_into_their_grant() {
        let cases: Vec<(Vec<(&str, &str)>, TokenRequest)> = vec![
            (
                vec![("grant_type", "authorization_code"), ("code", "c"), ("redirect_uri", "https://a/cb")],
                TokenRequest::AuthorizationCode {
                    code: "c".into(),
                    redirect_uri: Some("https://a/cb".into()),
                    code_verifier: None,
                },
            ),
            (
                vec![("grant_type", "authorization_code"), ("code", "c"), ("code_verifier", "v")],
                TokenRequest::AuthorizationCode {
                    code: "c".into(),
                    redirect_uri: None,
                    code_verifier: Some("v".into()),
                },
            ),
            (
                vec![("grant_type", "refresh_token"), ("refresh_token", "r")],
                TokenRequest::RefreshToken { refresh_token: "r".into(), scope: None },
            ),
            (
                vec![("grant_type", "refresh_token"), ("refresh_token", "r"), ("scope", "openid  email openid")],
                TokenRequest::RefreshToken { refresh_token: "r".into(), scope: Some(s(&["openid", "email"])) },
            ),
            (vec![("grant_type", "client_credentials")], TokenRequest::ClientCredentials { scope: vec![] }),
            (
                vec![("grant_type", "client_credentials"), ("scope", "api read")],
                TokenRequest::ClientCredentials { scope: s(&["api", "read"]) },
            ),
            (vec![("grant_type", DEVICE), ("device_code", "d")], TokenRequest::DeviceCode { device_code: "d".into() }),
        ];
        for (fields, want) in cases {
            let got = TokenRequest::parse(form(&fields)).unwrap();
            assert_eq!(got, want, "{fields:?}");
        }
        let grants = [
            (TokenRequest::DeviceCode { device_code: "d".into() }, GrantType::DeviceCode),
            (TokenRequest::ClientCredentials { scope: vec![] }, GrantType::ClientCredentials),
            (TokenRequest::RefreshToken { refresh_token: "r".into(), scope: None }, GrantType::RefreshToken),
        ];
        for (req, grant) in grants {
            assert_eq!(req.grant_type(), grant);
        }
    }
}
