//! Table tests for [`validate`]: which requests get an error page (the client or its
//! redirect URI cannot be trusted), which an error sent to the client, which pass.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::client::NewClient;
use crate::clock::ManualClock;
use crate::jwt;
use crate::keys::{Alg, Keys};
use crate::seal::Sealer;

const T: &str = "t";
const ISS: &str = "https://id.example/t/t";
const CB: &str = "https://app.example/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Kit {
    clients: Clients,
    ring: Arc<KeyRing>,
    _dir: tempfile::TempDir,
}

async fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = ManualClock::new();
    let sealer = Arc::new(Sealer::new([3; 32]));
    let keys = Keys::new(store.clone(), Arc::new(ManualClock::new()), sealer.clone(), 3600);
    keys.ensure(T).await.unwrap();
    let clients = Clients::new(store, sealer);
    let code = vec![GrantType::AuthorizationCode];
    let make = |id: &str, public: bool, grant_types: Vec<GrantType>| NewClient {
        id: id.into(),
        public,
        redirect_uris: vec![CB.into()],
        grant_types,
        ..NewClient::default()
    };
    clients.create(&clock, T, make("web", false, code.clone())).await.unwrap();
    clients.create(&clock, T, make("app", true, code)).await.unwrap();
    clients.create(&clock, T, make("svc", false, vec![GrantType::ClientCredentials])).await.unwrap();
    Kit { ring: keys.ring(T).await.unwrap(), clients, _dir: dir }
}

fn base() -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some("web".into()),
        redirect_uri: Some(CB.into()),
        scope: Some("openid".into()),
        state: Some("s".into()),
        ..AuthorizeParams::default()
    }
}

/// What a case must come to.
#[derive(Debug, PartialEq)]
enum Want {
    Ok,
    Page(&'static str, &'static str),
    Redirect(&'static str, &'static str),
}

fn outcome(r: std::result::Result<(AuthRequest, Client), AuthorizeError>) -> (Want, Option<AuthRequest>) {
    match r {
        Ok((req, _)) => (Want::Ok, Some(req)),
        Err(AuthorizeError::Page { error, description }) => (Want::Page(error.as_str(), leak(description)), None),
        Err(AuthorizeError::Redirect { to, error, description }) => {
            assert_eq!(to.redirect_uri, CB, "an error goes to the registered URI only");
            (Want::Redirect(error.as_str(), leak(description)), None)
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[tokio::test]
async fn p2_validate_table() {
    let k = kit().await;
    let hint = jwt::sign(
        k.ring.active(Alg::RS256).unwrap(),
        "JWT",
        &json!({ "iss": ISS, "sub": "alice", "aud": ["web"], "exp": 10, "iat": 5 }),
    )
    .unwrap();
    let p = base;
    let long = |n: usize| Some("x".repeat(n));
    let bad_req = |d| Want::Redirect("invalid_request", d);
    let table: Vec<(&str, AuthorizeParams, Want)> = vec![
        ("minimal", p(), Want::Ok),
        (
            "client_id missing",
            AuthorizeParams { client_id: None, ..p() },
            Want::Page("invalid_request", "client_id is missing"),
        ),
        (
            "client_id empty",
            AuthorizeParams { client_id: Some(String::new()), ..p() },
            Want::Page("invalid_request", "client_id is missing"),
        ),
        (
            "unknown client",
            AuthorizeParams { client_id: Some("ghost".into()), ..p() },
            Want::Page("invalid_client", "unknown client"),
        ),
        (
            "redirect_uri missing",
            AuthorizeParams { redirect_uri: None, ..p() },
            Want::Page("invalid_request", "redirect_uri is missing"),
        ),
        (
            "redirect_uri not registered",
            AuthorizeParams { redirect_uri: Some("https://evil.example/cb".into()), ..p() },
            Want::Page("invalid_request", "redirect_uri is not registered for this client"),
        ),
        ("response_mode form_post", AuthorizeParams { response_mode: Some("form_post".into()), ..p() }, Want::Ok),
        (
            "response_mode fragment",
            AuthorizeParams { response_mode: Some("fragment".into()), ..p() },
            bad_req("response_mode must be query or form_post"),
        ),
        ("response_type missing", AuthorizeParams { response_type: None, ..p() }, bad_req("response_type is missing")),
        (
            "response_type token",
            AuthorizeParams { response_type: Some("token".into()), ..p() },
            Want::Redirect("unsupported_response_type", "only response_type=code is supported"),
        ),
        (
            "client without the code grant",
            AuthorizeParams { client_id: Some("svc".into()), ..p() },
            Want::Redirect("unauthorized_client", "this client may not use the authorization code flow"),
        ),
        ("state too long", AuthorizeParams { state: long(2049), ..p() }, bad_req("parameter longer than 2048 bytes")),
        ("state at the limit", AuthorizeParams { state: long(2048), ..p() }, Want::Ok),
        ("nonce too long", AuthorizeParams { nonce: long(513), ..p() }, bad_req("parameter longer than 512 bytes")),
        (
            "login_hint too long",
            AuthorizeParams { login_hint: long(257), ..p() },
            bad_req("parameter longer than 256 bytes"),
        ),
        (
            "ui_locales too long",
            AuthorizeParams { ui_locales: long(129), ..p() },
            bad_req("parameter longer than 128 bytes"),
        ),
        (
            "acr_values too long",
            AuthorizeParams { acr_values: long(257), ..p() },
            bad_req("parameter longer than 256 bytes"),
        ),
        ("scope too long", AuthorizeParams { scope: long(1025), ..p() }, bad_req("parameter longer than 1024 bytes")),
        (
            "malformed scope",
            AuthorizeParams { scope: Some("openid pro\"file".into()), ..p() },
            Want::Redirect("invalid_scope", "malformed scope"),
        ),
        (
            "public client without PKCE",
            AuthorizeParams { client_id: Some("app".into()), ..p() },
            bad_req("PKCE (code_challenge, S256) is required for public clients"),
        ),
        (
            "public client with S256",
            AuthorizeParams {
                client_id: Some("app".into()),
                code_challenge: Some(CHALLENGE.into()),
                code_challenge_method: Some("S256".into()),
                ..p()
            },
            Want::Ok,
        ),
        (
            "method without challenge",
            AuthorizeParams { code_challenge_method: Some("S256".into()), ..p() },
            bad_req("code_challenge_method without code_challenge"),
        ),
        (
            "plain PKCE",
            AuthorizeParams {
                code_challenge: Some(CHALLENGE.into()),
                code_challenge_method: Some("plain".into()),
                ..p()
            },
            bad_req("code_challenge_method must be S256 (plain is refused)"),
        ),
        (
            "challenge without method",
            AuthorizeParams { code_challenge: Some(CHALLENGE.into()), ..p() },
            bad_req("code_challenge_method must be S256 (plain is refused)"),
        ),
        (
            "malformed challenge",
            AuthorizeParams { code_challenge: Some("short".into()), code_challenge_method: Some("S256".into()), ..p() },
            bad_req("code_challenge must be a base64url SHA-256 digest"),
        ),
        ("prompt login consent", AuthorizeParams { prompt: Some("login consent".into()), ..p() }, Want::Ok),
        ("unknown prompt", AuthorizeParams { prompt: Some("maybe".into()), ..p() }, bad_req("unknown prompt value")),
        (
            "prompt none with login",
            AuthorizeParams { prompt: Some("none login".into()), ..p() },
            bad_req("prompt=none cannot be combined with other values"),
        ),
        ("id_token_hint of this issuer", AuthorizeParams { id_token_hint: Some(hint.clone()), ..p() }, Want::Ok),
        (
            "id_token_hint not a token",
            AuthorizeParams { id_token_hint: Some("not.a.token".into()), ..p() },
            bad_req("id_token_hint is not an ID token of this issuer"),
        ),
        ("max_age 0", AuthorizeParams { max_age: Some("0".into()), ..p() }, Want::Ok),
        (
            "max_age negative",
            AuthorizeParams { max_age: Some("-1".into()), ..p() },
            bad_req("max_age must be a non-negative integer"),
        ),
    ];
    for (case, params, want) in table {
        let (got, _) = outcome(validate(&k.clients, T, &k.ring, ISS, params).await);
        assert_eq!(got, want, "{case}");
    }
}

#[tokio::test]
async fn p2_validate_keeps_what_the_request_asked() {
    let k = kit().await;
    let params = AuthorizeParams {
        client_id: Some("app".into()),
        scope: Some("openid openid profile".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        response_mode: Some("form_post".into()),
        prompt: Some("login select_account".into()),
        max_age: Some("300".into()),
        nonce: Some(String::new()),
        acr_values: Some("2".into()),
        ..base()
    };
    let (_, req) = outcome(validate(&k.clients, T, &k.ring, ISS, params).await);
    let req = req.unwrap();
    assert_eq!(req.scopes, vec!["openid".to_string(), "profile".into()], "scopes once each, in order");
    assert_eq!(req.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(req.response_mode, ResponseMode::FormPost);
    assert!(req.prompt.login && req.prompt.select_account && !req.prompt.none && !req.prompt.consent);
    assert_eq!(req.max_age, Some(300));
    assert_eq!(req.nonce, None, "an empty parameter is absent");
    assert_eq!(req.acr_values.as_deref(), Some("2"));
    assert_eq!(req.state.as_deref(), Some("s"));
}
