//! A plain OAuth 2 upstream like GitHub or WeChat (R17): `/authorize` auto-approves
//! the user the test chose (or denies), `/token` takes client_secret_post (a fixed
//! secret, or an Apple-style ES256 JWT it verifies) and a single-use code bound to
//! its PKCE S256 challenge, `/userinfo` answers the user's JSON for a bearer token.
//! It can answer `response_mode=form_post`, fail its token endpoint, or stop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Params = HashMap<String, String>;

/// How the client must authenticate at `/token`.
enum Secret {
    Plain(String),
    Jwt { public_key: Vec<u8>, team_id: String, key_id: String, audience: String },
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    user: Value,
}

struct Inner {
    client_id: String,
    redirect_prefix: String,
    secret: Mutex<Secret>,
    user: Mutex<Value>,
    token_fields: Mutex<Map<String, Value>>,
    denying: AtomicBool,
    failing_token: AtomicBool,
    next: AtomicU64,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, Value>>,
}

/// A running upstream on a loopback port; stops when dropped.
pub struct OAuth2Upstream {
    addr: SocketAddr,
    inner: Arc<Inner>,
    shutdown: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl OAuth2Upstream {
    /// Starts an upstream for `client_id` with `secret`, accepting redirect URIs that
    /// start with `redirect_prefix`.
    pub async fn start(client_id: &str, secret: &str, redirect_prefix: &str) -> OAuth2Upstream {
        let inner = Arc::new(Inner {
            client_id: client_id.into(),
            redirect_prefix: redirect_prefix.into(),
            secret: Mutex::new(Secret::Plain(secret.into())),
            user: Mutex::new(json!({})),
            token_fields: Mutex::new(Map::new()),
            denying: AtomicBool::new(false),
            failing_token: AtomicBool::new(false),
            next: AtomicU64::new(1),
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async { rx.await.unwrap_or(()) }).await.unwrap();
        });
        OAuth2Upstream { addr, inner, shutdown: Mutex::new(Some((tx, task))) }
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The user the next authorizations approve: what `/userinfo` answers.
    pub fn sign_in_as(&self, user: Value) {
        *self.inner.user.lock().unwrap() = user;
        self.inner.denying.store(false, Ordering::SeqCst);
    }

    /// Fields the token answer carries besides the token (WeChat: `openid`, `unionid`).
    pub fn token_fields(&self, fields: Value) {
        *self.inner.token_fields.lock().unwrap() = fields.as_object().unwrap().clone();
    }

    /// The next authorizations are refused (`error=access_denied`).
    pub fn deny(&self) {
        self.inner.denying.store(true, Ordering::SeqCst);
    }

    /// Makes `/token` answer 500 (or stop doing so).
    pub fn fail_token(&self, failing: bool) {
        self.inner.failing_token.store(failing, Ordering::SeqCst);
    }

    /// From now on the client secret must be an ES256 JWT (Apple-style) signed by the
    /// key whose public point is `public_key`, with these `kid`, `iss` and `aud`.
    pub fn expect_jwt_secret(&self, public_key: &[u8], team_id: &str, key_id: &str, audience: &str) {
        *self.inner.secret.lock().unwrap() = Secret::Jwt {
            public_key: public_key.to_vec(),
            team_id: team_id.into(),
            key_id: key_id.into(),
            audience: audience.into(),
        };
    }

    /// Closes the listener and every connection: the upstream is down.
    pub async fn stop(&self) {
        let running = self.shutdown.lock().unwrap().take();
        if let Some((tx, task)) = running {
            let _ = tx.send(());
            task.await.unwrap();
        }
    }
}

impl Drop for OAuth2Upstream {
    fn drop(&mut self) {
        if let Some((_, task)) = self.shutdown.lock().unwrap().take() {
            task.abort();
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

async fn authorize(State(inner): State<Arc<Inner>>, Query(q): Query<Params>) -> Response {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let redirect_uri = param("redirect_uri");
    if param("client_id") != inner.client_id || !redirect_uri.starts_with(&inner.redirect_prefix) {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect_uri").into_response();
    }
    if param("response_type") != "code"
        || param("code_challenge_method") != "S256"
        || param("code_challenge").is_empty()
    {
        return (StatusCode::BAD_REQUEST, "code flow with PKCE S256 required").into_response();
    }
    let answer: Vec<(&str, String)> = if inner.denying.load(Ordering::SeqCst) {
        vec![("error", "access_denied".into()), ("state", param("state").into())]
    } else {
        let code = format!("code-{}", inner.next.fetch_add(1, Ordering::SeqCst));
        let grant = Grant {
            challenge: param("code_challenge").into(),
            redirect_uri: redirect_uri.into(),
            user: inner.user.lock().unwrap().clone(),
        };
        inner.codes.lock().unwrap().insert(code.clone(), grant);
        vec![("code", code), ("state", param("state").into())]
    };
    if param("response_mode") == "form_post" {
        let inputs: String = answer
            .iter()
            .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", escape(v)))
            .collect();
        return Html(format!(
            "<!doctype html><body onload=\"document.forms[0].submit()\">\
             <form method=\"post\" action=\"{}\">{inputs}</form></body>",
            escape(redirect_uri)
        ))
        .into_response();
    }
    let mut url = url::Url::parse(redirect_uri).unwrap();
    url.query_pairs_mut().extend_pairs(answer);
    Redirect::to(url.as_str()).into_response()
}

/// True when `jwt` is an ES256 JWT by the expected key, for this client, unexpired.
fn jwt_ok(jwt: &str, client_id: &str, public_key: &[u8], team_id: &str, key_id: &str, audience: &str) -> bool {
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).ok();
    let json = |p: &str| decode(p).and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    let [head, body, sig] = parts[..] else { return false };
    let Some(sig) = decode(sig) else { return false };
    let signed = format!("{head}.{body}");
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key);
    let (head, claims) = (json(head), json(body));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    key.verify(signed.as_bytes(), &sig).is_ok()
        && head["alg"] == "ES256"
        && head["kid"] == key_id
        && claims["iss"] == team_id
        && claims["sub"] == client_id
        && claims["aud"] == audience
        && claims["exp"].as_u64().is_some_and(|exp| exp > now)
}

async fn token(State(inner): State<Arc<Inner>>, Form(f): Form<Params>) -> Response {
    if inner.failing_token.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream is having a bad day").into_response();
    }
    let param = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if param("grant_type") != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let client_ok = param("client_id") == inner.client_id
        && match &*inner.secret.lock().unwrap() {
            Secret::Plain(s) => param("client_secret") == s,
            Secret::Jwt { public_key, team_id, key_id, audience } => {
                jwt_ok(param("client_secret"), &inner.client_id, public_key, team_id, key_id, audience)
            }
        };
    if !client_ok {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // Removed on first use, right or wrong: a code is good once.
    let Some(grant) = inner.codes.lock().unwrap().remove(param("code")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(param("code_verifier").as_bytes()));
    if grant.redirect_uri != param("redirect_uri") || grant.challenge != challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access_token = format!("at-{}", inner.next.fetch_add(1, Ordering::SeqCst));
    inner.tokens.lock().unwrap().insert(access_token.clone(), grant.user);
    let mut answer = inner.token_fields.lock().unwrap().clone();
    answer.insert("access_token".into(), json!(access_token));
    answer.insert("token_type".into(), json!("bearer"));
    answer.insert("expires_in".into(), json!(7200));
    Json(Value::Object(answer)).into_response()
}

async fn userinfo(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match inner.tokens.lock().unwrap().get(bearer) {
        Some(user) => Json(user.clone()).into_response(),
        None => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}
