//! Single sign-on across a tenant's clients (R7) and RP-initiated logout (R30).

use reqwest::StatusCode;
use serde_json::json;

use crate::kit::{AFTER_LOGOUT, REDIRECT, SECRET, Server, field, location, query};

fn url(s: &Server, client: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client}&redirect_uri={REDIRECT}&scope=openid&state=st{extra}",
        s.t("/authorize")
    )
}

#[tokio::test]
async fn r7_one_sign_in_serves_every_client_of_the_tenant_but_not_another_tenant() {
    let s = Server::start().await;
    s.add_client("console", json!({})).await;
    s.add_client("forum", json!({})).await;
    let user = s.add_user("sso@example.com").await;
    let b = s.browser();
    b.authorize_with_login(&s.issuer(), &url(&s, "console", ""), "sso@example.com").await;
    let back = b.authorize_silently(&url(&s, "forum", "")).await;
    let code = query(&back)["code"].clone();
    let (st, t) = s
        .token("forum", SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK);
    let claims: serde_json::Value = {
        use base64::Engine;
        let p = t["id_token"].as_str().unwrap().split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    assert_eq!(claims["sub"], user);
    // The session is the tenant's: another tenant asks to sign in.
    let other = s.add_tenant("elsewhere").await;
    s.admin
        .post(s.url(&format!("/admin/tenants/{other}/clients")))
        .json(&json!({ "id": "console", "secret": SECRET, "redirect_uris": [REDIRECT] }))
        .send()
        .await
        .unwrap();
    let r = b
        .get(&format!("/t/{other}/authorize?response_type=code&client_id=console&redirect_uri={REDIRECT}&scope=openid"))
        .await;
    assert!(location(&r).contains("/login?flow="));
}

#[tokio::test]
async fn r30_logout_with_id_token_hint_ends_the_session_for_every_client() {
    let s = Server::start().await;
    s.add_client("console", json!({})).await;
    s.add_client("forum", json!({})).await;
    s.add_user("lo@example.com").await;
    let b = s.browser();
    let back = b.authorize_with_login(&s.issuer(), &url(&s, "console", ""), "lo@example.com").await;
    let (_, t) = s
        .token(
            "console",
            SECRET,
            &[("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    let hint = t["id_token"].as_str().unwrap();
    // An unregistered post_logout_redirect_uri is refused with a page, session intact.
    let r = b
        .get(&format!("{}?id_token_hint={hint}&post_logout_redirect_uri=http://127.0.0.1:9/evil", s.t("/logout")))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(query(&b.authorize_silently(&url(&s, "forum", "")).await).contains_key("code"));
    let r = b
        .get(&format!("{}?id_token_hint={hint}&post_logout_redirect_uri={AFTER_LOGOUT}&state=bye", s.t("/logout")))
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), format!("{AFTER_LOGOUT}?state=bye"));
    for client in ["console", "forum"] {
        let r = b.get(&url(&s, client, "&prompt=none")).await;
        assert_eq!(query(&location(&r))["error"], "login_required", "{client} is signed out too");
    }
}

#[tokio::test]
async fn r30_logout_without_hint_asks_for_confirmation() {
    let s = Server::start().await;
    s.add_client("console", json!({})).await;
    s.add_user("lc@example.com").await;
    let b = s.browser();
    b.authorize_with_login(&s.issuer(), &url(&s, "console", ""), "lc@example.com").await;
    let r = b.get(&s.t("/logout")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        query(&b.authorize_silently(&url(&s, "console", "")).await).contains_key("code"),
        "a GET alone does not sign out"
    );
    let r = b.post(&s.t("/logout"), &[("csrf", &field(&html, "csrf")), ("confirm", "yes")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = b.get(&url(&s, "console", "&prompt=none")).await;
    assert_eq!(query(&location(&r))["error"], "login_required");
}
