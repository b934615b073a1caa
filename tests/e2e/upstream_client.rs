//! The upstream client (R17) over the wire: a second Latchkey as an OpenID Connect
//! upstream, and the fake OAuth 2 peer as GitHub, WeChat and Apple would answer.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use latchkey::federation::client::{FederationError, UpstreamClient};
use latchkey_core::Clock;
use latchkey_core::federation::UpstreamIdentity;
use latchkey_core::federation::upstream::{Credentials, JwtSecret, UpstreamConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{PASSWORD, REDIRECT, SECRET, Server, field, location, no_redirects, query};
use crate::peers::oauth2_upstream::OAuth2Upstream;

const PEER_CLIENT: &str = "wx-app";
const PEER_SECRET: &str = "wx-secret";

fn secret(s: &str) -> Credentials {
    Credentials { client_secret: Some(s.into()), jwt: None }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn oidc_config(s: &Server, client_id: &str) -> UpstreamConfig {
    serde_json::from_value(json!({
        "id": "corp", "display_name": "Corp", "protocol": "oidc", "issuer": s.issuer(), "client_id": client_id,
    }))
    .unwrap()
}

/// Starts at the upstream Latchkey, signs in there as `login` in a fresh browser and
/// returns the code from the callback and the PKCE verifier.
async fn walk(client: &UpstreamClient, s: &Server, up: &UpstreamConfig, login: &str, nonce: &str) -> (String, String) {
    let started = client.start(up, REDIRECT, "st-oidc", nonce).await.unwrap();
    let q = query(&started.url);
    assert_eq!((q["nonce"].as_str(), q["code_challenge_method"].as_str()), (nonce, "S256"));
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    for scope in ["openid", "email", "profile", "phone"] {
        assert!(scopes.contains(&scope), "{scopes:?}");
    }
    let back = s.browser().authorize_with_login(&s.issuer(), &started.url, login).await;
    assert!(back.starts_with(REDIRECT), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], "st-oidc");
    (q["code"].clone(), started.pkce_verifier)
}

#[tokio::test]
async fn r17_oidc_upstream_names_its_account_with_claims_from_id_token_and_userinfo() {
    let s = Server::start().await;
    s.add_client("down", json!({})).await;
    let up = oidc_config(&s, "down");
    let client = UpstreamClient::new().unwrap();

    // Created by an administrator: email not verified. Latchkey's ID token carries
    // no `name`, so the name proves userinfo filled the gap.
    let r = s
        .admin
        .post(s.url(&format!("/admin/tenants/{}/users", s.tenant)))
        .json(&json!({ "email": "ann@example.com", "name": "annlee", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ann = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (code, verifier) = walk(&client, &s, &up, "ann@example.com", "n-ann").await;
    let who = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-ann", s.clock.now()).await.unwrap();
    assert_eq!(
        who,
        UpstreamIdentity {
            upstream: "corp".into(),
            subject: ann,
            name: Some("annlee".into()),
            email: Some("ann@example.com".into()),
            email_verified: false,
            phone: None,
            phone_verified: false,
        }
    );

    // Registered with an emailed code: the email is verified.
    let email = "bo@example.com";
    let code =
        s.mail_code(email, s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": email })));
    let (st, body) = s
        .api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code.await }))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.clock.advance(61);
    let (code, verifier) = walk(&client, &s, &up, email, "n-bo").await;
    let who = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-bo", s.clock.now()).await.unwrap();
    assert_eq!(who.subject, body["account_id"].as_str().unwrap());
    assert_eq!((who.email.as_deref(), who.email_verified), (Some(email), true));

    // Registered with an SMS code: the mobile is verified.
    let mobile = "+8613800138771";
    let cy = s.register_mobile(mobile).await;
    let (code, verifier) = walk(&client, &s, &up, mobile, "n-cy").await;
    let who = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-cy", s.clock.now()).await.unwrap();
    assert_eq!(who.subject, cy);
    assert_eq!((who.phone.as_deref(), who.phone_verified, who.email), (Some(mobile), true, None));
}

#[tokio::test]
async fn r17_oidc_accepts_es256_and_eddsa_id_tokens() {
    let s = Server::start().await;
    let user = s.add_user("dee@example.com").await;
    let client = UpstreamClient::new().unwrap();
    for (id, alg) in [("ec-down", "ES256"), ("ed-down", "EdDSA")] {
        s.add_client(id, json!({ "id_token_alg": alg })).await;
        let up = oidc_config(&s, id);
        let (code, verifier) = walk(&client, &s, &up, "dee@example.com", "n-1").await;
        let who = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-1", s.clock.now()).await;
        assert_eq!(who.unwrap().subject, user, "{alg}");
    }
}

#[tokio::test]
async fn r17_oidc_refuses_wrong_nonce_expired_token_wrong_secret_and_reused_code() {
    let s = Server::start().await;
    s.add_client("down", json!({})).await;
    s.add_user("eve@example.com").await;
    let up = oidc_config(&s, "down");
    let client = UpstreamClient::new().unwrap();
    let now = s.clock.now();

    let (code, verifier) = walk(&client, &s, &up, "eve@example.com", "n-right").await;
    let r = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-wrong", now).await;
    assert!(matches!(r, Err(FederationError::Rejected(ref m)) if m.contains("nonce")), "{r:?}");

    // Verified at the caller's `now`, not the machine's: two days on, the token is stale.
    let (code, verifier) = walk(&client, &s, &up, "eve@example.com", "n-1").await;
    let r = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-1", now + 2 * 86_400).await;
    assert!(matches!(r, Err(FederationError::Rejected(ref m)) if m.contains("xpired")), "{r:?}");

    let (code, verifier) = walk(&client, &s, &up, "eve@example.com", "n-1").await;
    let r = client.identity(&up, &secret("not-the-secret"), REDIRECT, &code, &verifier, "n-1", now).await;
    assert!(matches!(r, Err(FederationError::Rejected(_))), "{r:?}");

    let (code, verifier) = walk(&client, &s, &up, "eve@example.com", "n-1").await;
    client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-1", now).await.unwrap();
    let r = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-1", now).await;
    assert!(matches!(r, Err(FederationError::Rejected(_))), "{r:?}");
}

#[tokio::test]
async fn r17_oidc_looks_up_keys_again_after_the_upstream_rotates() {
    let s = Server::start().await;
    s.add_client("down", json!({})).await;
    let user = s.add_user("fay@example.com").await;
    let up = oidc_config(&s, "down");
    let client = UpstreamClient::new().unwrap();
    // Discovery and keys are cached now; then the upstream signs with a new key.
    client.start(&up, REDIRECT, "st", "n").await.unwrap();
    let r = s.admin.post(s.url(&format!("/admin/tenants/{}/keys/rotate", s.tenant))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (code, verifier) = walk(&client, &s, &up, "fay@example.com", "n-1").await;
    let who = client.identity(&up, &secret(SECRET), REDIRECT, &code, &verifier, "n-1", s.clock.now()).await;
    assert_eq!(who.unwrap().subject, user);
}

#[tokio::test]
async fn r17_oidc_unreachable_or_undiscoverable_issuer_is_unavailable() {
    let peer = OAuth2Upstream::start(PEER_CLIENT, PEER_SECRET, "http://127.0.0.1:9/").await;
    let client = UpstreamClient::new().unwrap();
    for issuer in ["http://127.0.0.1:1/t/none".to_string(), peer.url("/no-discovery-here")] {
        let up: UpstreamConfig = serde_json::from_value(json!({
            "id": "corp", "display_name": "Corp", "protocol": "oidc", "issuer": issuer, "client_id": "down",
        }))
        .unwrap();
        let r = client.start(&up, REDIRECT, "st", "n").await;
        assert!(matches!(r, Err(FederationError::Unavailable(_))), "{issuer}: {:?}", r.err());
    }
}

fn oauth2_config(peer: &OAuth2Upstream, claims: Value) -> UpstreamConfig {
    serde_json::from_value(json!({
        "id": "wechat", "display_name": "WeChat", "protocol": "oauth2",
        "authorization_endpoint": peer.url("/authorize"), "token_endpoint": peer.url("/token"),
        "userinfo_endpoint": peer.url("/userinfo"), "client_id": PEER_CLIENT, "claims": claims,
        "scopes": ["snsapi_login"],
    }))
    .unwrap()
}

/// Starts at the peer as a browser would (it approves at once) and returns the
/// callback's parameters and the PKCE verifier.
async fn approve(client: &UpstreamClient, up: &UpstreamConfig) -> (HashMap<String, String>, String) {
    let started = client.start(up, REDIRECT, "st-2", "unused").await.unwrap();
    let r = no_redirects().get(&started.url).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let back = location(&r);
    assert!(back.starts_with(REDIRECT), "{back}");
    (query(&back), started.pkce_verifier)
}

/// A whole sign-in at the peer with `creds`.
async fn sign_in(
    client: &UpstreamClient,
    up: &UpstreamConfig,
    creds: &Credentials,
) -> Result<UpstreamIdentity, FederationError> {
    let (q, verifier) = approve(client, up).await;
    assert_eq!(q["state"], "st-2");
    client.identity(up, creds, REDIRECT, &q["code"], &verifier, "unused", unix_now()).await
}

#[tokio::test]
async fn r17_oauth2_wechat_subject_is_unionid_else_openid_from_the_token_answer() {
    let peer = OAuth2Upstream::start(PEER_CLIENT, PEER_SECRET, "http://127.0.0.1:9/").await;
    let up = oauth2_config(&peer, json!({ "subject": ["unionid", "openid"], "name": "nickname" }));
    let client = UpstreamClient::new().unwrap();
    let creds = secret(PEER_SECRET);
    peer.sign_in_as(json!({ "nickname": "Wei", "headimgurl": "https://img.test/w" }));

    // Like WeChat, the ids come only in the token answer.
    peer.token_fields(json!({ "openid": "o-wei" }));
    let who = sign_in(&client, &up, &creds).await.unwrap();
    assert_eq!((who.upstream.as_str(), who.subject.as_str()), ("wechat", "o-wei"));
    assert_eq!(who.name.as_deref(), Some("Wei"));
    assert_eq!((who.email, who.email_verified, who.phone), (None, false, None));

    peer.token_fields(json!({ "openid": "o-wei", "unionid": "u-wei" }));
    assert_eq!(sign_in(&client, &up, &creds).await.unwrap().subject, "u-wei");

    // Where both say something, userinfo wins.
    peer.token_fields(json!({ "openid": "o-stale" }));
    peer.sign_in_as(json!({ "nickname": "Wei", "openid": "o-wei" }));
    assert_eq!(sign_in(&client, &up, &creds).await.unwrap().subject, "o-wei");

    // Neither field: no subject, no identity.
    peer.token_fields(json!({}));
    peer.sign_in_as(json!({ "nickname": "Wei" }));
    let r = sign_in(&client, &up, &creds).await;
    assert!(matches!(r, Err(FederationError::Rejected(_))), "{r:?}");
}

#[tokio::test]
async fn r17_oauth2_github_numeric_id_becomes_a_string_and_only_true_verifies_email() {
    let peer = OAuth2Upstream::start(PEER_CLIENT, PEER_SECRET, "http://127.0.0.1:9/").await;
    let up = oauth2_config(&peer, json!({ "subject": ["id"], "name": "name", "email": "email" }));
    let client = UpstreamClient::new().unwrap();
    let creds = secret(PEER_SECRET);
    peer.sign_in_as(json!({
        "id": 583231, "login": "octocat", "name": "The Octocat",
        "email": "octo@example.com", "email_verified": true,
    }));
    let who = sign_in(&client, &up, &creds).await.unwrap();
    assert_eq!(
        who,
        UpstreamIdentity {
            upstream: "wechat".into(),
            subject: "583231".into(),
            name: Some("The Octocat".into()),
            email: Some("octo@example.com".into()),
            email_verified: true,
            phone: None,
            phone_verified: false,
        }
    );
    peer.sign_in_as(json!({ "id": 583231, "email": "octo@example.com", "email_verified": "true" }));
    let who = sign_in(&client, &up, &creds).await.unwrap();
    assert_eq!((who.email.as_deref(), who.email_verified), (Some("octo@example.com"), false));
}

#[tokio::test]
async fn r17_oauth2_refused_code_verifier_or_secret_is_rejected() {
    let peer = OAuth2Upstream::start(PEER_CLIENT, PEER_SECRET, "http://127.0.0.1:9/").await;
    let up = oauth2_config(&peer, json!({ "subject": ["openid"] }));
    let client = UpstreamClient::new().unwrap();
    let creds = secret(PEER_SECRET);
    peer.sign_in_as(json!({ "openid": "o-1" }));
    let rejected = |r: Result<UpstreamIdentity, FederationError>| {
        assert!(matches!(r, Err(FederationError::Rejected(_))), "{r:?}");
    };

    let (_, verifier) = approve(&client, &up).await;
    rejected(client.identity(&up, &creds, REDIRECT, "code-999", &verifier, "", unix_now()).await);

    let (q, _) = approve(&client, &up).await;
    rejected(
        client.identity(&up, &creds, REDIRECT, &q["code"], "a-different-verifier-of-43-characters-xxxxx", "", 0).await,
    );

    let (q, verifier) = approve(&client, &up).await;
    rejected(client.identity(&up, &secret("wrong"), REDIRECT, &q["code"], &verifier, "", 0).await);

    let (q, verifier) = approve(&client, &up).await;
    assert_eq!(client.identity(&up, &creds, REDIRECT, &q["code"], &verifier, "", 0).await.unwrap().subject, "o-1");
    rejected(client.identity(&up, &creds, REDIRECT, &q["code"], &verifier, "", 0).await);

    // A person who says no comes back with an error, never a code.
    peer.deny();
    let (q, _) = approve(&client, &up).await;
    assert_eq!((q["error"].as_str(), q["state"].as_str(), q.get("code")), ("access_denied", "st-2", None));
}

#[tokio::test]
async fn r17_oauth2_failing_or_stopped_upstream_is_unavailable() {
    let peer = OAuth2Upstream::start(PEER_CLIENT, PEER_SECRET, "http://127.0.0.1:9/").await;
    let up = oauth2_config(&peer, json!({ "subject": ["openid"] }));
    let client = UpstreamClient::new().unwrap();
    let creds = secret(PEER_SECRET);
    peer.sign_in_as(json!({ "openid": "o-1" }));

    peer.fail_token(true);
    let r = sign_in(&client, &up, &creds).await;
    assert!(matches!(r, Err(FederationError::Unavailable(ref m)) if m.contains("500")), "{r:?}");
    peer.fail_token(false);
    assert_eq!(sign_in(&client, &up, &creds).await.unwrap().subject, "o-1");

    let (q, verifier) = approve(&client, &up).await;
    peer.stop().await;
    let r = client.identity(&up, &creds, REDIRECT, &q["code"], &verifier, "", unix_now()).await;
    assert!(matches!(r, Err(FederationError::Unavailable(_))), "{r:?}");
}

/// A fresh P-256 key as (PKCS#8 PEM, public point).
pub(crate) fn p256_key() -> (String, Vec<u8>) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let public = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    (format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"), public)
}

#[tokio::test]
async fn r17_oauth2_apple_style_jwt_client_secret_and_form_post() {
    let peer = OAuth2Upstream::start("com.example.web", "unused", "http://127.0.0.1:9/").await;
    let (pem, public) = p256_key();
    peer.expect_jwt_secret(&public, "TEAM123", "KEY456", "https://appleid.example");
    peer.sign_in_as(json!({ "sub": "001234.abcd", "email": "a1b2@privaterelay.example", "email_verified": true }));
    let mut up = oauth2_config(&peer, json!({ "subject": ["sub"] }));
    up.client_id = "com.example.web".into();
    up.response_mode = latchkey_core::federation::upstream::ResponseMode::FormPost;
    let jwt = |private_key: String| JwtSecret {
        team_id: "TEAM123".into(),
        key_id: "KEY456".into(),
        private_key,
        audience: "https://appleid.example".into(),
    };
    let client = UpstreamClient::new().unwrap();

    // The answer comes back as a form the browser posts to the callback.
    let started = client.start(&up, REDIRECT, "st-apple", "").await.unwrap();
    let r = no_redirects().get(&started.url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")), "{html}");
    assert_eq!(field(&html, "state"), "st-apple");
    let creds = Credentials { client_secret: None, jwt: Some(jwt(pem)) };
    let who = client
        .identity(&up, &creds, REDIRECT, &field(&html, "code"), &started.pkce_verifier, "", unix_now())
        .await
        .unwrap();
    assert_eq!(who.subject, "001234.abcd");
    assert_eq!((who.email.as_deref(), who.email_verified), (Some("a1b2@privaterelay.example"), true));

    // Signed with another key, or already expired at the peer's clock: refused.
    let (other, _) = p256_key();
    for (key, now) in [(other, unix_now()), (creds.jwt.clone().unwrap().private_key, unix_now() - 600)] {
        let started = client.start(&up, REDIRECT, "st-apple", "").await.unwrap();
        let html = no_redirects().get(&started.url).send().await.unwrap().text().await.unwrap();
        let creds = Credentials { client_secret: None, jwt: Some(jwt(key)) };
        let r = client.identity(&up, &creds, REDIRECT, &field(&html, "code"), &started.pkce_verifier, "", now).await;
        assert!(matches!(r, Err(FederationError::Rejected(_))), "{r:?}");
    }
}
