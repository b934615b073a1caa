//! Token endpoint grants beyond the first code exchange, revocation, introspection,
//! key rotation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{REDIRECT, SECRET, Server, no_redirects, query};

/// Signs `email` in to client `web` and exchanges the code; returns the token response.
pub async fn tokens_for(s: &Server, email: &str) -> Value {
    s.add_user(email).await;
    let b = s.browser();
    let url =
        format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid%20email", s.t("/authorize"));
    let back = b.authorize_with_login(&s.issuer(), &url, email).await;
    let code = query(&back)["code"].clone();
    let (status, body) = s
        .token("web", SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn userinfo_status(s: &Server, at: &str) -> StatusCode {
    no_redirects().get(s.t("/userinfo")).bearer_auth(at).send().await.unwrap().status()
}

#[tokio::test]
async fn p3_refresh_rotates_and_reuse_revokes_the_family() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let first = tokens_for(&s, "rt@example.com").await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (st, second) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt1)]).await;
    assert_eq!(st, StatusCode::OK, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "rotation issues a new refresh token");
    assert!(second["id_token"].is_string());
    let at2 = second["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s, at2).await, StatusCode::OK);
    // Narrowing the scope is allowed, widening is not.
    let (st, body) = s
        .token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt2), ("scope", "openid phone")])
        .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    // Reuse of the rotated token: refused, and the family (rt2, at2) dies with it.
    let (st, body) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt1)]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (st, _) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt2)]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "the newest refresh token of the family is revoked too");
    assert_eq!(userinfo_status(&s, at2).await, StatusCode::UNAUTHORIZED, "and its access tokens");
}

#[tokio::test]
async fn p3_client_credentials_for_confidential_clients_only() {
    let s = Server::start().await;
    s.add_client("svc", json!({ "grant_types": ["client_credentials"], "redirect_uris": [] })).await;
    let (st, body) = s.token("svc", SECRET, &[("grant_type", "client_credentials"), ("scope", "read write")]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read write");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    // client_secret_post works for a client registered for it.
    s.add_client(
        "post",
        json!({ "grant_types": ["client_credentials"], "redirect_uris": [], "auth_method": "client_secret_post" }),
    )
    .await;
    let r = no_redirects()
        .post(s.t("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "post"), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A code client may not use it.
    s.add_client("web", json!({})).await;
    let (st, body) = s.token("web", SECRET, &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
}

#[tokio::test]
async fn p6_revocation_of_refresh_and_access_tokens() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let t = tokens_for(&s, "rv@example.com").await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s, at).await, StatusCode::OK);
    let r = no_redirects()
        .post(s.t("/revoke"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(userinfo_status(&s, at).await, StatusCode::UNAUTHORIZED);
    let r = no_redirects()
        .post(s.t("/revoke"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", rt), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (st, _) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // Unknown tokens are answered the same; a bad client is not.
    let r = no_redirects()
        .post(s.t("/revoke"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", "nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = no_redirects()
        .post(s.t("/revoke"))
        .basic_auth("web", Some("wrong-secret-0000"))
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn p6_introspection_reports_active_and_inactive_tokens() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    // A resource server: registered to introspect tokens of other clients (issue 10 item 7).
    s.add_client("rs", json!({ "grant_types": ["client_credentials"], "redirect_uris": [], "resource_server": true }))
        .await;
    let t = tokens_for(&s, "in@example.com").await;
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let introspect = |tok: String| {
        let url = s.t("/introspect");
        async move {
            no_redirects()
                .post(url)
                .basic_auth("rs", Some(SECRET))
                .form(&[("token", tok)])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let a = introspect(at.to_string()).await;
    assert_eq!(a["active"], true);
    assert_eq!(a["client_id"], "web");
    assert_eq!(a["scope"], "openid email");
    assert_eq!(introspect(rt.to_string()).await["active"], true);
    assert_eq!(introspect("garbage".into()).await, json!({ "active": false }));
    s.clock.advance(601);
    assert_eq!(introspect(at.to_string()).await["active"], false, "expired");
    let r = no_redirects().post(s.t("/introspect")).form(&[("token", at)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "introspection needs client authentication");
}

#[tokio::test]
async fn p4_key_rotation_keeps_old_keys_in_jwks_and_signs_with_new() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let before = tokens_for(&s, "kr@example.com").await;
    let jwks = |s: &Server| {
        let url = s.t("/jwks");
        async move { no_redirects().get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let kids = |v: &Value| {
        v["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let old = kids(&jwks(&s).await);
    let r = s.admin.post(s.url(&format!("/admin/tenants/{}/keys/rotate", s.tenant))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let now = kids(&jwks(&s).await);
    assert_eq!(now.len(), 6, "three new keys and three retired ones");
    assert!(old.iter().all(|k| now.contains(k)));
    // Tokens from before still verify; new ones use a new kid.
    assert_eq!(userinfo_status(&s, before["access_token"].as_str().unwrap()).await, StatusCode::OK);
    let (_, after) = s
        .token(
            "web",
            SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", before["refresh_token"].as_str().unwrap())],
        )
        .await;
    let kid_of = |jwt: &str| {
        use base64::Engine;
        let h: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_string()
    };
    let new_kid = kid_of(after["id_token"].as_str().unwrap());
    assert!(!old.contains(&new_kid) && now.contains(&new_kid));
}
