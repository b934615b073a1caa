//! The device authorization request's rules (RFC 8628 §3.1): the client must be
//! registered for the device_code grant (`unauthorized_client`), and the scope must
//! be well formed (`invalid_scope`): at most 1024 bytes, each scope printable ASCII
//! without `"` or `\` (RFC 6749 §3.3).

use crate::client::{Client, GrantType};
use crate::grant::{OAuthCode, OAuthError, split_scope};

/// The longest scope string a device may ask for, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// The requested scopes, or the OAuth error that refuses the request.
pub fn check(client: &Client, scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    if !client.allows(GrantType::DeviceCode) {
        let why = "this client may not use the device authorization grant";
        return Err(OAuthError::new(OAuthCode::UnauthorizedClient, why));
    }
    let scope = scope.unwrap_or_default();
    let scopes = split_scope(scope);
    let well_formed = scope.len() <= MAX_SCOPE_BYTES
        && scopes.iter().all(|s| s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'));
    if !well_formed {
        return Err(OAuthError::new(OAuthCode::InvalidScope, "malformed scope"));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(grants: &[GrantType]) -> Client {
        serde_json::from_value(serde_json::json!({
            "id": "tv", "name": "tv", "secret_salt": null, "secret_digest": null,
            "redirect_uris": [], "post_logout_redirect_uris": [], "grant_types": grants,
            "auth_method": "none", "first_party": false, "id_token_alg": "RS256", "lifetimes": {}, "created_at": 0,
        }))
        .unwrap()
    }

    /// P8 (RFC 8628 §3.1): only a client registered for the device_code grant may
    /// start one; a malformed scope is `invalid_scope`; a well-formed one is split.
    #[test]
    fn p8_device_authorization_needs_the_grant_and_a_well_formed_scope() {
        let tv = client(&[GrantType::DeviceCode]);
        let long = "a".repeat(MAX_SCOPE_BYTES + 1);
        let edge = format!("{} b", "a".repeat(MAX_SCOPE_BYTES - 2));
        type Case<'a> = (&'a Client, Option<&'a str>, Result<&'a [&'a str], OAuthCode>);
        let cases: &[Case] = &[
            (&tv, None, Ok(&[])),
            (&tv, Some(""), Ok(&[])),
            (&tv, Some("openid  profile openid"), Ok(&["openid", "profile"])),
            (&tv, Some(&edge), Ok(&[])),
            (&tv, Some(&long), Err(OAuthCode::InvalidScope)),
            (&tv, Some("openid \"x\""), Err(OAuthCode::InvalidScope)),
            (&tv, Some("a\\b"), Err(OAuthCode::InvalidScope)),
            (&tv, Some("caf\u{e9}"), Err(OAuthCode::InvalidScope)),
            (&tv, Some("a\tb"), Err(OAuthCode::InvalidScope)),
        ];
        for (c, scope, want) in cases {
            let got = check(c, *scope).map_err(|e| e.code);
            match (got, want) {
                (Ok(s), Ok(w)) if w.is_empty() || s == *w => {}
                (Err(g), Err(w)) if g == *w => {}
                (got, want) => panic!("{scope:?}: {got:?}, want {want:?}"),
            }
        }
        for grants in
            [&[][..], &[GrantType::AuthorizationCode, GrantType::RefreshToken], &[GrantType::ClientCredentials]]
        {
            let e = check(&client(grants), Some("openid")).unwrap_err();
            assert_eq!(e.code, OAuthCode::UnauthorizedClient, "{grants:?}");
            assert_eq!(e.description, "this client may not use the device authorization grant");
        }
        assert_eq!(check(&tv, Some("bad\"")).unwrap_err().description, "malformed scope");
    }
}
