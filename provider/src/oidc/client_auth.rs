//! Client authentication at the token, revocation and introspection endpoints:
//! client_secret_basic, client_secret_post, or none for public clients.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::client::{Client, Presented};

use crate::state::Services;
use crate::web::error::{ApiError, ApiResult};

fn form_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
}

/// `(client_id, secret)` from an `Authorization: Basic` header (RFC 6749 §2.3.1).
fn basic(headers: &HeaderMap) -> ApiResult<Option<(String, String)>> {
    let Some(v) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let v = v.to_str().map_err(|_| ApiError::unauthorized("invalid_client", "malformed Authorization header"))?;
    let Some((scheme, rest)) = v.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || ApiError::unauthorized("invalid_client", "malformed Basic credentials");
    let raw = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((form_decode(id).ok_or_else(bad)?, form_decode(secret).ok_or_else(bad)?)))
}

/// Authenticates the client of a request.
pub async fn authenticate(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> ApiResult<Client> {
    let basic = basic(headers)?;
    let (id, presented) = match (&basic, form_client_id, form_secret) {
        (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request("invalid_request", "use one client authentication method, not two"));
        }
        (Some((id, _)), Some(f), None) if f != id => {
            return Err(ApiError::bad_request("invalid_request", "client_id does not match the Basic credentials"));
        }
        (Some((id, s)), _, None) => (id.as_str(), Presented::Basic(s)),
        (None, Some(id), Some(s)) => (id, Presented::Post(s)),
        (None, Some(id), None) => (id, Presented::None),
        (None, None, _) => return Err(ApiError::unauthorized("invalid_client", "client authentication is required")),
    };
    Ok(svc.clients.authenticate(tenant, id, presented).await?)
}
