//! The HTTP client that talks to upstream providers (R17): builds the authorization
//! URL, exchanges the code and says who signed in. OpenID Connect upstreams go
//! through the `openidconnect` crate (discovery, a verified ID token); plain OAuth 2
//! upstreams (GitHub, WeChat) through their token and userinfo endpoints and the
//! tenant's claim mapping.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use latchkey_core::federation::UpstreamIdentity;
use latchkey_core::federation::upstream::{Credentials, Protocol, ResponseMode, UpstreamConfig};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreGenderClaim, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AsyncHttpClient, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, DiscoveryError, EmptyAdditionalClaims, HttpClientError, HttpRequest, HttpResponse,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse, UserInfoClaims, UserInfoError,
};
use reqwest::header::ACCEPT;
use serde_json::{Map, Value};

use super::client_secret;

/// Every upstream call gives up after this long.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long an issuer's discovery document and keys are reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(600);
/// What an OIDC upstream is asked for when the tenant names no scopes.
const DEFAULT_OIDC_SCOPES: [&str; 4] = ["openid", "email", "profile", "phone"];
/// ID token signatures accepted from upstreams.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 3] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EdDsa,
];
/// Longest subject accepted (links refuse longer ones too).
const MAX_SUBJECT: usize = 255;

/// Where to send the browser, and the PKCE verifier to keep until the callback.
pub struct Started {
    pub url: String,
    pub pkce_verifier: String,
}

/// Why an upstream sign-in did not give an identity. Messages carry no secrets.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The upstream could not be reached or answered unusably (network, timeout,
    /// 5xx, bad discovery): try again later.
    #[error("the upstream provider is unavailable: {0}")]
    Unavailable(String),
    /// The upstream refused the code, or what it sent does not prove a sign-in
    /// (token endpoint error, invalid ID token, nonce mismatch, no subject).
    #[error("the upstream sign-in was refused: {0}")]
    Rejected(String),
}

use FederationError::{Rejected, Unavailable};

/// The HTTP client for upstreams; one per server, shared by all tenants.
pub struct UpstreamClient {
    http: Http,
    discovery: Mutex<HashMap<String, Discovered>>,
}

struct Discovered {
    at: Instant,
    metadata: Arc<CoreProviderMetadata>,
}

impl UpstreamClient {
    /// A client that never follows redirects (an upstream cannot bounce the server
    /// elsewhere) and gives up after 10 s.
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(UpstreamClient { http: Http(http), discovery: Mutex::new(HashMap::new()) })
    }

    /// The URL to send the browser to: code flow with PKCE S256, `state`, `nonce`
    /// (OIDC), the configured scopes (OIDC: `openid email profile phone` when none
    /// are configured), and `response_mode=form_post` when configured.
    pub async fn start(
        &self,
        up: &UpstreamConfig,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
    ) -> Result<Started, FederationError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let form_post = up.response_mode == ResponseMode::FormPost;
        let url = match up.protocol {
            Protocol::Oidc => {
                let (metadata, _) = self.metadata(up, false).await?;
                let client =
                    CoreClient::from_provider_metadata((*metadata).clone(), ClientId::new(up.client_id.clone()), None)
                        .set_redirect_uri(redirect_url(redirect_uri)?);
                let (state, nonce) = (state.to_string(), nonce.to_string());
                let mut request = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        move || CsrfToken::new(state),
                        move || Nonce::new(nonce),
                    )
                    .set_pkce_challenge(challenge);
                // The client adds `openid` itself.
                for scope in oidc_scopes(up).into_iter().filter(|s| s != "openid") {
                    request = request.add_scope(Scope::new(scope));
                }
                if form_post {
                    request = request.add_extra_param("response_mode", "form_post");
                }
                request.url().0.to_string()
            }
            Protocol::Oauth2 => {
                let endpoint = up.authorization_endpoint.as_deref().unwrap_or_default();
                let mut url = url::Url::parse(endpoint)
                    .map_err(|_| Unavailable("the authorization endpoint is not a URL".into()))?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("response_type", "code")
                        .append_pair("client_id", &up.client_id)
                        .append_pair("redirect_uri", redirect_uri);
                    if !up.scopes.is_empty() {
                        q.append_pair("scope", &up.scopes.join(" "));
                    }
                    q.append_pair("state", state)
                        .append_pair("code_challenge", challenge.as_str())
                        .append_pair("code_challenge_method", "S256");
                    if form_post {
                        q.append_pair("response_mode", "form_post");
                    }
                }
                url.to_string()
            }
        };
        Ok(Started { url, pkce_verifier: verifier.secret().clone() })
    }

    /// Exchanges the code (with the PKCE verifier and the client's credentials) and
    /// says who signed in. OIDC: the ID token is verified against the issuer's keys
    /// (RS256, ES256 or EdDSA; `iss`, `aud`, `exp` at `now`, `nonce`), and userinfo
    /// fills in what it lacks. OAuth 2: the claim mapping applies over the token
    /// answer merged with userinfo's (userinfo wins).
    #[allow(clippy::too_many_arguments)]
    pub async fn identity(
        &self,
        up: &UpstreamConfig,
        creds: &Credentials,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: u64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let secret = match &creds.jwt {
            Some(jwt) => Some(
                client_secret::signed(jwt, &up.client_id, now)
                    .map_err(|e| Unavailable(format!("the client secret JWT cannot be made: {e}")))?,
            ),
            None => creds.client_secret.clone(),
        };
        match up.protocol {
            Protocol::Oidc => self.oidc_identity(up, secret, redirect_uri, code, pkce_verifier, nonce, now).await,
            Protocol::Oauth2 => self.oauth2_identity(up, secret, redirect_uri, code, pkce_verifier).await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn oidc_identity(
        &self,
        up: &UpstreamConfig,
        secret: Option<String>,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: u64,
    ) -> Result<UpstreamIdentity, FederationError> {
        let (metadata, fresh) = self.metadata(up, false).await?;
        let client = CoreClient::from_provider_metadata(
            (*metadata).clone(),
            ClientId::new(up.client_id.clone()),
            secret.map(ClientSecret::new),
        )
        .set_redirect_uri(redirect_url(redirect_uri)?)
        .set_auth_type(auth_type(&metadata));
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| Unavailable("the upstream advertises no token endpoint".into()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = tokens.id_token().ok_or_else(|| Rejected("the upstream sent no ID token".into()))?;
        let access_token = tokens.access_token();
        let nonce = Nonce::new(nonce.to_string());
        let claims = match verify(&metadata, &up.client_id, id_token, access_token, &nonce, now) {
            // A key not in the cached set: the upstream may have rotated; look again once.
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))
                if !fresh =>
            {
                let (metadata, _) = self.metadata(up, true).await?;
                verify(&metadata, &up.client_id, id_token, access_token, &nonce, now)
            }
            other => other,
        }
        .map_err(|e| Rejected(format!("the ID token is not valid: {e}")))?;

        let subject = claims.subject().as_str().to_string();
        if subject.is_empty() || subject.len() > MAX_SUBJECT {
            return Err(Rejected("the ID token has no usable subject".into()));
        }
        let mut found = Found {
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
            email: claims.email().map(|e| (e.as_str().to_string(), claims.email_verified() == Some(true))),
            phone: claims
                .phone_number()
                .map(|p| (p.as_str().to_string(), claims.phone_number_verified() == Some(true))),
        };
        if found.lacks_any() && client.user_info_url().is_some() {
            let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = client
                .user_info(access_token.clone(), Some(claims.subject().clone()))
                .map_err(|_| Unavailable("the upstream advertises no userinfo endpoint".into()))?
                .request_async(&self.http)
                .await
                .map_err(userinfo_error)?;
            // Signed ID token values win; userinfo only fills the gaps.
            found.name = found.name.or_else(|| info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()));
            found.email = found
                .email
                .or_else(|| info.email().map(|e| (e.as_str().to_string(), info.email_verified() == Some(true))));
            found.phone = found.phone.or_else(|| {
                info.phone_number().map(|p| (p.as_str().to_string(), info.phone_number_verified() == Some(true)))
            });
        }
        Ok(found.into_identity(&up.id, subject))
    }

    async fn oauth2_identity(
        &self,
        up: &UpstreamConfig,
        secret: Option<String>,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<UpstreamIdentity, FederationError> {
        let token_endpoint = up.token_endpoint.as_deref().unwrap_or_default();
        let userinfo_endpoint = up.userinfo_endpoint.as_deref().unwrap_or_default();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", up.client_id.as_str()),
            ("code_verifier", pkce_verifier),
        ];
        if let Some(s) = &secret {
            form.push(("client_secret", s.as_str()));
        }
        // GitHub answers form-encoded unless asked for JSON.
        let answer = self.http.0.post(token_endpoint).header(ACCEPT, "application/json").form(&form).send().await;
        let mut merged = json_answer("token endpoint", answer).await?;
        let access_token = match merged.get("access_token") {
            Some(Value::String(t)) if !t.is_empty() => t.clone(),
            _ => return Err(Rejected("the token endpoint gave no access token".into())),
        };
        let answer = self
            .http
            .0
            .get(userinfo_endpoint)
            .header(ACCEPT, "application/json")
            .bearer_auth(&access_token)
            .send()
            .await;
        let userinfo = json_answer("userinfo endpoint", answer).await?;
        merged.extend(userinfo);
        mapped(up, &Value::Object(merged))
    }

    /// The issuer's discovery document and keys, from the cache unless `refresh`;
    /// the flag says whether they were just fetched.
    async fn metadata(
        &self,
        up: &UpstreamConfig,
        refresh: bool,
    ) -> Result<(Arc<CoreProviderMetadata>, bool), FederationError> {
        let issuer = up.issuer.as_deref().unwrap_or_default();
        if !refresh {
            let cache = self.discovery.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(d) = cache.get(issuer).filter(|d| d.at.elapsed() < DISCOVERY_TTL) {
                return Ok((d.metadata.clone(), false));
            }
        }
        let url = IssuerUrl::new(issuer.to_string()).map_err(|_| Unavailable("the issuer is not a URL".into()))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http).await.map_err(discovery_error)?;
        let metadata = Arc::new(metadata);
        let mut cache = self.discovery.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, d| d.at.elapsed() < DISCOVERY_TTL);
        cache.insert(issuer.to_string(), Discovered { at: Instant::now(), metadata: metadata.clone() });
        Ok((metadata, true))
    }
}

/// The reqwest client as openidconnect's HTTP client, with a 5xx answer turned into
/// a request failure so that it reads as "unavailable", not as a refusal.
struct Http(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = AsyncHttpClient::call(&self.0, request).await?;
            if response.status().is_server_error() {
                return Err(HttpClientError::Other(format!("the upstream answered {}", response.status())));
            }
            Ok(response)
        })
    }
}

/// What the upstream said besides the subject; email and phone with their verified flag.
struct Found {
    name: Option<String>,
    email: Option<(String, bool)>,
    phone: Option<(String, bool)>,
}

impl Found {
    fn lacks_any(&self) -> bool {
        self.name.is_none() || self.email.is_none() || self.phone.is_none()
    }

    fn into_identity(self, upstream: &str, subject: String) -> UpstreamIdentity {
        let (email, email_verified) = self.email.map_or((None, false), |(e, v)| (Some(e), v));
        let (phone, phone_verified) = self.phone.map_or((None, false), |(p, v)| (Some(p), v));
        UpstreamIdentity {
            upstream: upstream.to_string(),
            subject,
            name: self.name,
            email,
            email_verified,
            phone,
            phone_verified,
        }
    }
}

fn oidc_scopes(up: &UpstreamConfig) -> Vec<String> {
    if up.scopes.is_empty() { DEFAULT_OIDC_SCOPES.iter().map(|s| s.to_string()).collect() } else { up.scopes.clone() }
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, FederationError> {
    RedirectUrl::new(redirect_uri.to_string()).map_err(|_| Unavailable("the redirect URI is not a URL".into()))
}

/// HTTP Basic unless the upstream only takes the secret in the body (Apple).
fn auth_type(metadata: &CoreProviderMetadata) -> AuthType {
    match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

/// Verifies the ID token (signature with an allowed algorithm, `iss`, `aud`, `exp`
/// at `now`, `nonce`, and `at_hash` when present) against `metadata`'s keys.
fn verify(
    metadata: &CoreProviderMetadata,
    client_id: &str,
    id_token: &openidconnect::core::CoreIdToken,
    access_token: &AccessToken,
    nonce: &Nonce,
    now: u64,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let at = DateTime::<Utc>::from_timestamp(i64::try_from(now).unwrap_or(i64::MAX), 0).unwrap_or_default();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_string()),
        metadata.issuer().clone(),
        metadata.jwks().clone(),
    )
    .set_allowed_algs(ALLOWED_ALGS)
    .set_time_fn(move || at);
    let claims = id_token.claims(&verifier, nonce)?.clone();
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(ClaimsVerificationError::SignatureVerification)?;
        let key = id_token.signing_key(&verifier).map_err(ClaimsVerificationError::SignatureVerification)?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|e| ClaimsVerificationError::Unsupported(e.to_string()))?;
        if actual != *expected {
            return Err(ClaimsVerificationError::Other("at_hash does not match the access token".into()));
        }
    }
    Ok(claims)
}

/// An error with its causes, for errors that carry no secrets (network, discovery).
fn chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn discovery_error(e: DiscoveryError<HttpClientError<reqwest::Error>>) -> FederationError {
    Unavailable(format!("discovery failed: {}", chain(&e)))
}

fn token_error<T: openidconnect::ErrorResponse + 'static>(
    e: RequestTokenError<HttpClientError<reqwest::Error>, T>,
) -> FederationError {
    match e {
        RequestTokenError::ServerResponse(answer) => {
            // The OAuth error code and description; the request's secrets are not in it.
            let text = answer.to_string();
            if text.starts_with("server_error") || text.starts_with("temporarily_unavailable") {
                Unavailable(format!("the token endpoint said {text}"))
            } else {
                Rejected(format!("the token endpoint said {text}"))
            }
        }
        RequestTokenError::Request(e) => Unavailable(format!("the token request failed: {}", chain(&e))),
        // The body may hold tokens: never quoted.
        RequestTokenError::Parse(..) => Unavailable("the token endpoint's answer could not be read".into()),
        RequestTokenError::Other(text) => Unavailable(format!("the token endpoint's answer is unusable: {text}")),
    }
}

fn userinfo_error(e: UserInfoError<HttpClientError<reqwest::Error>>) -> FederationError {
    match e {
        UserInfoError::ClaimsVerification(e) => Rejected(format!("the userinfo answer is not valid: {e}")),
        UserInfoError::Response(status, ..) if status.is_client_error() => {
            Rejected(format!("the userinfo endpoint answered {status}"))
        }
        UserInfoError::Response(status, ..) => Unavailable(format!("the userinfo endpoint answered {status}")),
        UserInfoError::Request(e) => Unavailable(format!("the userinfo request failed: {}", chain(&e))),
        UserInfoError::Parse(_) => Unavailable("the userinfo answer could not be read".into()),
        other => Unavailable(format!("the userinfo answer is unusable: {other}")),
    }
}

/// A plain OAuth 2 endpoint's JSON object: 5xx and network failures are
/// `Unavailable`, an OAuth error (4xx, `error`, WeChat's `errcode`) is `Rejected`.
async fn json_answer(
    what: &str,
    answer: reqwest::Result<reqwest::Response>,
) -> Result<Map<String, Value>, FederationError> {
    let answer = answer.map_err(|e| Unavailable(format!("the {what} could not be reached: {}", chain(&e))))?;
    let status = answer.status();
    if status.is_server_error() {
        return Err(Unavailable(format!("the {what} answered {status}")));
    }
    let body = answer.bytes().await.map_err(|e| Unavailable(format!("the {what} answer broke off: {}", chain(&e))))?;
    let json = serde_json::from_slice::<Value>(&body).ok();
    // Only the error code and description are quoted; the rest may hold tokens.
    let quote = |key: &str| {
        json.as_ref().and_then(|j| j.get(key)).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    if let Some(error) = quote("error").or_else(|| quote("errcode").filter(|c| c != "0")) {
        let description = quote("error_description").or_else(|| quote("errmsg")).unwrap_or_default();
        return Err(Rejected(format!("the {what} said {error} {description}").trim_end().to_string()));
    }
    if !status.is_success() {
        return Err(Rejected(format!("the {what} answered {status}")));
    }
    match json {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(Unavailable(format!("the {what} did not answer a JSON object"))),
    }
}

/// The value at a dotted path (`data.user.id`).
fn at<'v>(json: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(json, |v, key| v.get(key))
}

fn text(json: &Value, path: &Option<String>) -> Option<String> {
    match at(json, path.as_deref()?)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Applies the tenant's claim mapping: the first subject field that holds a
/// non-empty string or an integer (GitHub's numeric `id`) is the subject.
fn mapped(up: &UpstreamConfig, json: &Value) -> Result<UpstreamIdentity, FederationError> {
    let m = &up.claims;
    let subject = m
        .subject
        .iter()
        .find_map(|path| match at(json, path)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| s.len() <= MAX_SUBJECT)
        .ok_or_else(|| Rejected("the upstream gave no usable subject".into()))?;
    let email = text(json, &m.email);
    let email_verified =
        email.is_some() && m.email_verified.as_deref().and_then(|p| at(json, p)) == Some(&Value::Bool(true));
    Ok(UpstreamIdentity {
        upstream: up.id.clone(),
        subject,
        name: text(json, &m.name),
        email,
        email_verified,
        phone: text(json, &m.phone),
        phone_verified: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use latchkey_core::federation::upstream::ClaimMapping;
    use serde_json::json;

    use super::*;

    fn oauth2(claims: ClaimMapping) -> UpstreamConfig {
        serde_json::from_value(json!({
            "id": "gh", "display_name": "GitHub", "protocol": "oauth2",
            "authorization_endpoint": "https://up.test/authorize?x=1",
            "token_endpoint": "https://up.test/token", "userinfo_endpoint": "https://up.test/user",
            "client_id": "c1", "scopes": ["read:user", "user:email"],
        }))
        .map(|mut c: UpstreamConfig| {
            c.claims = claims;
            c
        })
        .unwrap()
    }

    #[test]
    fn r17_mapping_takes_dotted_paths_numbers_and_only_a_true_verified_flag() {
        let claims = ClaimMapping {
            subject: vec!["data.unionid".into(), "id".into()],
            name: Some("profile.nick".into()),
            email: Some("email".into()),
            email_verified: Some("verified".into()),
            phone: Some("tel".into()),
        };
        let up = oauth2(claims);
        let got =
            mapped(&up, &json!({ "id": 42, "profile": { "nick": "Ann" }, "email": "a@x.test", "verified": "true" }))
                .unwrap();
        assert_eq!(got.subject, "42");
        assert_eq!(got.name.as_deref(), Some("Ann"));
        assert_eq!(got.email.as_deref(), Some("a@x.test"));
        assert!(!got.email_verified, "a string \"true\" is not JSON true");
        let got =
            mapped(&up, &json!({ "id": 42, "data": { "unionid": "u-1" }, "email": "a@x.test", "verified": true }))
                .unwrap();
        assert_eq!(got.subject, "u-1");
        assert!(got.email_verified);
        for bad in [json!({}), json!({ "id": 1.5 }), json!({ "id": "" }), json!({ "id": "x".repeat(256) })] {
            assert!(matches!(mapped(&up, &bad), Err(Rejected(_))), "{bad}");
        }
    }

    /// Handlers run on a multi-threaded runtime: the futures must be `Send`.
    #[test]
    fn r17_client_futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let client = UpstreamClient::new().unwrap();
        let up = oauth2(ClaimMapping::default());
        let creds = Credentials { client_secret: None, jwt: None };
        send(&client.start(&up, "", "", ""));
        send(&client.identity(&up, &creds, "", "", "", "", 0));
    }

    #[tokio::test]
    async fn r17_oauth2_start_url_has_pkce_state_scopes_and_form_post() {
        let mut up = oauth2(ClaimMapping::default());
        up.response_mode = ResponseMode::FormPost;
        let client = UpstreamClient::new().unwrap();
        let started = client.start(&up, "https://lk.test/cb", "st-1", "n-1").await.unwrap();
        let url = url::Url::parse(&started.url).unwrap();
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/authorize");
        assert_eq!(q["x"], "1", "the endpoint's own query is kept");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "c1");
        assert_eq!(q["redirect_uri"], "https://lk.test/cb");
        assert_eq!(q["scope"], "read:user user:email");
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_mode"], "form_post");
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(started.pkce_verifier));
        assert_eq!(q["code_challenge"], expected.as_str());
    }
}
