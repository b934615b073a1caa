//! The built-in demo app at `/demo`: a first-party public client of tenant `default`
//! that signs in with code + PKCE, verifies the ID token with openidconnect against
//! the tenant's JWKS, and shows the claims. It is a real relying party, except that
//! it reaches the token endpoint by function call instead of over the network.

use aws_lc_rs::digest;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::client::{GrantType, NewClient};
use latchkey_core::grant::TokenRequest;
use latchkey_core::keys::b64;
use latchkey_core::{jwt, secret};
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IdTokenVerifier, IssuerUrl, Nonce};
use serde::Deserialize;
use serde_json::json;

use crate::oidc::issuer::LatchkeyIdToken;
use crate::oidc::signing::{jws_alg, public_jwk};
use crate::state::{AppState, Services};
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::{cookie, set_cookie};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;
use latchkey_core::keys::ACCESS_TOKEN_TYP;

pub const TENANT: &str = "default";
pub const CLIENT_ID: &str = "demo";
const COOKIE: &str = crate::web::cookies::DEMO;

/// The demo client's registration for this public URL.
pub fn client(public_url: &str) -> NewClient {
    NewClient {
        id: CLIENT_ID.into(),
        name: Some("Latchkey demo app".into()),
        public: true,
        redirect_uris: vec![format!("{public_url}/demo/callback")],
        post_logout_redirect_uris: vec![format!("{public_url}/demo")],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        first_party: true,
        ..NewClient::default()
    }
}

/// Registers (or refreshes) the demo client. A public URL that is plain http to a
/// host other than loopback cannot carry authorization codes (RFC 9700 §2.1): then
/// the demo app is left out, with a warning, and the server still starts.
pub async fn install(svc: &Services) -> anyhow::Result<()> {
    match svc.clients.upsert(svc.clock.as_ref(), TENANT, client(&svc.public_url)).await {
        Ok(_) => Ok(()),
        Err(latchkey_core::Error::Invalid { reason, .. }) => {
            tracing::warn!(public_url = %svc.public_url, %reason, "demo app not installed: use https or loopback");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn page_ctx(svc: &Services) -> serde_json::Value {
    json!({
        "start": "/demo/start",
        "logout": paths::tenant(TENANT, paths::END_SESSION),
        "after_logout": format!("{}/demo", svc.public_url),
    })
}

async fn home(State(svc): State<AppState>, headers: HeaderMap) -> Response {
    Page::new(&headers, None).render(&svc, StatusCode::OK, "demo.html", page_ctx(&svc))
}

async fn start(State(svc): State<AppState>) -> Response {
    let verifier = secret::token();
    let challenge = b64(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref());
    let (state, nonce) = (secret::token_of(16), secret::token_of(16));
    let mut url = match url::Url::parse(&format!("{}/t/{TENANT}/authorize", svc.public_url)) {
        Ok(u) => u,
        Err(_) => return crate::web::page::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "bad public_url"),
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &format!("{}/demo/callback", svc.public_url))
        .append_pair("scope", "openid profile email phone")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut resp = respond::found(url.as_str());
    let value = format!("{state}.{nonce}.{verifier}");
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, &value, "/demo", Some(600), svc.secure_cookies));
    resp
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(svc): State<AppState>, headers: HeaderMap, Query(cb): Query<Callback>) -> Response {
    let page = Page::new(&headers, None);
    let mut ctx = page_ctx(&svc);
    match finish(&svc, &headers, cb).await {
        Ok((id_token, claims, access_claims)) => {
            ctx["id_token"] = json!(id_token);
            ctx["claims"] = json!(claims);
            ctx["access_claims"] = json!(access_claims);
        }
        Err(e) => ctx["error"] = json!(format!("{}: {}", e.code, e.description)),
    }
    let mut resp = page.render(&svc, StatusCode::OK, "demo.html", ctx);
    resp.headers_mut().append(header::SET_COOKIE, set_cookie(COOKIE, "", "/demo", Some(0), svc.secure_cookies));
    resp
}

async fn finish(svc: &Services, headers: &HeaderMap, cb: Callback) -> ApiResult<(String, String, String)> {
    if let Some(e) = cb.error {
        return Err(ApiError::bad_request(
            "access_denied",
            format!("{e} {}", cb.error_description.unwrap_or_default()),
        ));
    }
    let saved = cookie(headers, COOKIE).unwrap_or_default();
    let mut parts = saved.splitn(3, '.');
    let (Some(state), Some(nonce), Some(verifier)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::bad_request("invalid_request", "no sign-in in progress"));
    };
    if !cb.state.as_deref().is_some_and(|s| secret::eq(s, state)) {
        return Err(ApiError::bad_request("invalid_request", "state does not match"));
    }
    let code = cb.code.ok_or_else(|| ApiError::bad_request("invalid_request", "no code"))?;
    let client = svc.clients.get(TENANT, CLIENT_ID).await?;
    let req = TokenRequest::AuthorizationCode {
        code,
        redirect_uri: Some(format!("{}/demo/callback", svc.public_url)),
        code_verifier: Some(verifier.to_string()),
    };
    let issued = svc.tokens.exchange(TENANT, &client, req).await??;
    let id_token = issued.id_token.ok_or_else(|| ApiError::bad_request("invalid_request", "no ID token"))?;

    let ring = svc.keys.ring(TENANT).await?;
    let jwks = CoreJsonWebKeySet::new(ring.keys.iter().map(public_jwk).collect());
    let issuer = IssuerUrl::new(svc.issuer(TENANT)).map_err(|_| ApiError::bad_request("server_error", "issuer"))?;
    let now = svc.clock.now() as i64;
    let verifier = IdTokenVerifier::new_public_client(ClientId::new(CLIENT_ID.into()), issuer, jwks)
        .set_allowed_algs(ring.keys.iter().map(|k| jws_alg(k.alg)).collect::<Vec<CoreJwsSigningAlgorithm>>())
        .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap_or_default());
    let parsed: LatchkeyIdToken =
        id_token.parse().map_err(|_| ApiError::bad_request("invalid_token", "unparsable ID token"))?;
    let claims = parsed
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| ApiError::bad_request("invalid_token", e.to_string()))?;
    let access = jwt::verify(&ring, &issued.access_token, Some(ACCESS_TOKEN_TYP), svc.clock.now())?;
    let pretty = |v: Result<String, serde_json::Error>| v.unwrap_or_default();
    Ok((id_token.clone(), pretty(serde_json::to_string_pretty(claims)), pretty(serde_json::to_string_pretty(&access))))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/demo", get(home))
        .route("/demo/start", get(start))
        .route("/demo/callback", get(callback))
}
