//! Protocol hardening (issue 10 items 7, 11 to 14 and part of 15): introspection only
//! of one's own tokens (RFC 7662), redirect URI schemes (RFC 8252, RFC 9700), refresh
//! scopes (RFC 6749 §6), logout hints (RP-Initiated Logout §2), UserInfo challenges
//! (RFC 6750 §3), prompt=none with a hint (OIDC Core §3.1.2.1), JWKS `alg`, and
//! developer claims by scope (R14).

use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::kit::{AFTER_LOGOUT, Browser, REDIRECT, SECRET, Server, location, no_redirects, query};

fn authorize_url(s: &Server, client: &str, scope: &str, extra: &str) -> String {
    format!("{}?response_type=code&client_id={client}&redirect_uri={REDIRECT}&scope={scope}{extra}", s.t("/authorize"))
}

/// Exchanges a code from `back` (the redirect to the client) at the token endpoint.
async fn redeem(s: &Server, client: &str, back: &str) -> Value {
    let code = query(back)["code"].clone();
    let (st, body) = s
        .token(client, SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body
}

/// A new user signed in through `client` with `scope`: the browser and the tokens.
async fn signed_in(s: &Server, client: &str, email: &str, scope: &str) -> (Browser, Value) {
    s.add_user(email).await;
    let b = s.browser();
    let back = b.authorize_with_login(&s.issuer(), &authorize_url(s, client, scope, ""), email).await;
    let t = redeem(s, client, &back).await;
    (b, t)
}

async fn introspect(s: &Server, client: &str, token: &str) -> reqwest::Response {
    no_redirects()
        .post(s.t("/introspect"))
        .basic_auth(client, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

async fn introspected(s: &Server, client: &str, token: &str) -> Value {
    let r = introspect(s, client, token).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn payload(jwt: &str) -> Value {
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// True if the browser's session still signs it in silently.
async fn still_signed_in(s: &Server, b: &Browser, client: &str) -> bool {
    let r = b.get(&authorize_url(s, client, "openid", "&prompt=none")).await;
    query(&location(&r)).contains_key("code")
}

#[tokio::test]
async fn p6_a_client_cannot_introspect_another_clients_token() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_client("other", json!({ "grant_types": ["client_credentials"], "redirect_uris": [] })).await;
    let (_, t) = signed_in(&s, "web", "intro@example.com", "openid%20email").await;
    let (at, rt) = (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
    // Another confidential client learns nothing: the same answer as for garbage.
    assert_eq!(introspected(&s, "other", at).await, json!({ "active": false }));
    assert_eq!(introspected(&s, "other", rt).await, json!({ "active": false }));
    assert_eq!(introspected(&s, "other", "garbage").await, json!({ "active": false }));
    // The client the tokens were issued to sees them, and `other` sees its own.
    let own = introspected(&s, "web", at).await;
    assert_eq!((own["active"].as_bool(), own["client_id"].as_str()), (Some(true), Some("web")), "{own}");
    assert_eq!(introspected(&s, "web", rt).await["active"], true);
    let (st, cc) = s.token("other", SECRET, &[("grant_type", "client_credentials"), ("scope", "read")]).await;
    assert_eq!(st, StatusCode::OK, "{cc}");
    assert_eq!(introspected(&s, "other", cc["access_token"].as_str().unwrap()).await["active"], true);
    assert_eq!(introspected(&s, "web", cc["access_token"].as_str().unwrap()).await, json!({ "active": false }));
}

#[tokio::test]
async fn p6_a_resource_server_may_introspect_any_token() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let rs = s
        .add_client(
            "api",
            json!({ "grant_types": ["client_credentials"], "redirect_uris": [], "resource_server": true }),
        )
        .await;
    assert_eq!(rs["resource_server"], true, "{rs}");
    let (_, t) = signed_in(&s, "web", "rs@example.com", "openid%20email").await;
    let a = introspected(&s, "api", t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (a["active"].as_bool(), a["client_id"].as_str(), a["scope"].as_str()),
        (Some(true), Some("web"), Some("openid email"))
    );
    assert_eq!(introspected(&s, "api", t["refresh_token"].as_str().unwrap()).await["active"], true);
    // The setting is the admin's: a client registered without it is not a resource server.
    let list: Value =
        s.admin.get(s.url(&format!("/admin/tenants/{}/clients", s.tenant))).send().await.unwrap().json().await.unwrap();
    let web = list.as_array().unwrap().iter().find(|c| c["client_id"] == "web").unwrap();
    assert_eq!(web["resource_server"], false);
    // A public client cannot be one.
    let r = s
        .admin
        .post(s.url(&format!("/admin/tenants/{}/clients", s.tenant)))
        .json(&json!({ "id": "spa", "public": true, "redirect_uris": [REDIRECT], "resource_server": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn p6_introspection_answers_are_not_cached() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (_, t) = signed_in(&s, "web", "nc@example.com", "openid").await;
    for token in [t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap(), "garbage"] {
        let r = introspect(&s, "web", token).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers().get(CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-store"), "{token}");
        assert_eq!(r.headers().get(PRAGMA).map(|v| v.to_str().unwrap()), Some("no-cache"), "{token}");
    }
}

async fn register(s: &Server, body: Value) -> (StatusCode, Value) {
    let r = s.admin.post(s.url(&format!("/admin/tenants/{}/clients", s.tenant))).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn p2_a_javascript_redirect_uri_is_refused_at_registration() {
    let s = Server::start().await;
    let bad = [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "http://example.com/cb",
        "https://app.example/cb#frag",
    ];
    for (i, uri) in bad.iter().enumerate() {
        let (st, body) = register(&s, json!({ "id": format!("c{i}"), "secret": SECRET, "redirect_uris": [uri] })).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{uri}: {body}");
        let (st, body) = register(
            &s,
            json!({ "id": format!("l{i}"), "secret": SECRET, "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [uri] }),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "post-logout {uri}: {body}");
    }
    // Nothing was registered.
    let list: Value =
        s.admin.get(s.url(&format!("/admin/tenants/{}/clients", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert_eq!(list, json!([]));
    // The CLI goes through the same rule.
    let (base, token) = (s.base.clone(), s.running.admin_token.clone());
    let tenant = s.tenant.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["--url", &base, &format!("--token={token}"), "client", "add", "--tenant", &tenant])
            .args(["--id", "cli", "--redirect-uri", "javascript:alert(1)"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Loopback http and https are fine.
    let (st, body) = register(&s, json!({ "id": "ok", "secret": SECRET, "redirect_uris": [REDIRECT, "http://[::1]:9/cb", "http://localhost:9/cb", "https://app.example/cb"] })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn p2_a_native_private_use_scheme_is_accepted() {
    const NATIVE: &str = "com.example.app:/oauth2redirect";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let s = Server::start().await;
    let (st, body) =
        register(&s, json!({ "id": "app", "public": true, "first_party": true, "redirect_uris": [NATIVE] })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.add_user("native@example.com").await;
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={NATIVE}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256",
        s.t("/authorize")
    );
    let back = s.browser().authorize_with_login(&s.issuer(), &url, "native@example.com").await;
    assert!(back.starts_with(&format!("{NATIVE}?")), "{back}");
    let r = no_redirects()
        .post(s.t("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &query(&back)["code"]),
            ("redirect_uri", NATIVE),
            ("client_id", "app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn p3_a_refresh_asking_for_a_wider_scope_does_not_consume_the_token() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (_, t) = signed_in(&s, "web", "wide@example.com", "openid%20email").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let at = t["access_token"].as_str().unwrap();
    let (st, body) = s
        .token(
            "web",
            SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "openid email phone")],
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")), "{body}");
    // The refused request used nothing up: the token still refreshes, once.
    assert_eq!(introspected(&s, "web", rt).await["active"], true);
    let (st, body) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid email");
    assert_eq!(introspected(&s, "web", at).await["active"], true, "the family was not revoked");
}

#[tokio::test]
async fn p3_a_narrowed_refresh_keeps_the_grant_scopes() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (_, t) = signed_in(&s, "web", "narrow@example.com", "openid%20email").await;
    let (st, narrow) = s
        .token(
            "web",
            SECRET,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t["refresh_token"].as_str().unwrap()),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{narrow}");
    assert_eq!(narrow["scope"], "openid");
    assert_eq!(payload(narrow["access_token"].as_str().unwrap())["scope"], "openid", "the access token is narrowed");
    assert!(payload(narrow["id_token"].as_str().unwrap()).get("email").is_none(), "and the ID token");
    let rt2 = narrow["refresh_token"].as_str().unwrap();
    assert_eq!(introspected(&s, "web", rt2).await["scope"], "openid email", "the grant is not");
    let (st, again) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt2)]).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["scope"], "openid email");
    assert_eq!(payload(again["id_token"].as_str().unwrap())["email"], "narrow@example.com");
}

#[tokio::test]
async fn p7_logout_refuses_an_access_token_as_id_token_hint() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (b, t) = signed_in(&s, "web", "lo-at@example.com", "openid").await;
    let at = t["access_token"].as_str().unwrap();
    let r = b.get(&format!("{}?id_token_hint={at}&post_logout_redirect_uri={AFTER_LOGOUT}", s.t("/logout"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none(), "no redirect");
    assert!(still_signed_in(&s, &b, "web").await, "the session was not ended");
    // The ID token itself is a hint (and logs out at once).
    let id = t["id_token"].as_str().unwrap();
    let r = b.get(&format!("{}?id_token_hint={id}&post_logout_redirect_uri={AFTER_LOGOUT}", s.t("/logout"))).await;
    assert_eq!((r.status(), location(&r)), (StatusCode::FOUND, AFTER_LOGOUT.to_string()));
    assert!(!still_signed_in(&s, &b, "web").await);
}

#[tokio::test]
async fn p7_logout_refuses_a_client_id_that_differs_from_the_hint() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_client("forum", json!({})).await;
    let (b, t) = signed_in(&s, "web", "lo-cid@example.com", "openid").await;
    let id = t["id_token"].as_str().unwrap();
    let r = b
        .get(&format!("{}?id_token_hint={id}&client_id=forum&post_logout_redirect_uri={AFTER_LOGOUT}", s.t("/logout")))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none(), "no redirect");
    assert!(still_signed_in(&s, &b, "web").await, "the session was not ended");
    // With the hint's own client it goes through.
    let r = b
        .get(&format!("{}?id_token_hint={id}&client_id=web&post_logout_redirect_uri={AFTER_LOGOUT}", s.t("/logout")))
        .await;
    assert_eq!((r.status(), location(&r)), (StatusCode::FOUND, AFTER_LOGOUT.to_string()));
}

fn challenge(r: &reqwest::Response) -> String {
    r.headers().get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn p5_userinfo_without_a_token_asks_for_one_without_an_error_code() {
    let s = Server::start().await;
    let r = no_redirects().get(s.t("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(&r);
    assert!(c.starts_with("Bearer") && !c.contains("error"), "{c}");
    // A token that does not verify is invalid_token.
    let r = no_redirects().get(s.t("/userinfo")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&r), "Bearer error=\"invalid_token\"");
}

#[tokio::test]
async fn p5_userinfo_without_openid_scope_says_insufficient_scope() {
    let s = Server::start().await;
    s.add_client("svc", json!({ "grant_types": ["client_credentials"], "redirect_uris": [] })).await;
    let (st, t) = s.token("svc", SECRET, &[("grant_type", "client_credentials"), ("scope", "read")]).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let r = no_redirects().get(s.t("/userinfo")).bearer_auth(t["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(challenge(&r), "Bearer error=\"insufficient_scope\", scope=\"openid\"");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "insufficient_scope");
}

#[tokio::test]
async fn p2_prompt_none_with_a_hint_for_another_user_is_login_required() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (_, bob) = signed_in(&s, "web", "bob@example.com", "openid").await;
    let (alice_browser, alice) = signed_in(&s, "web", "alice@example.com", "openid").await;
    let silent =
        |hint: &str| authorize_url(&s, "web", "openid", &format!("&prompt=none&state=st&id_token_hint={hint}"));
    let back = alice_browser.authorize_silently(&silent(bob["id_token"].as_str().unwrap())).await;
    let q = query(&back);
    assert_eq!(
        (q.get("error").map(String::as_str), q.get("state").map(String::as_str)),
        (Some("login_required"), Some("st")),
        "{back}"
    );
    assert!(!q.contains_key("code"));
    // Her own hint is answered with a code.
    let back = alice_browser.authorize_silently(&silent(alice["id_token"].as_str().unwrap())).await;
    assert!(query(&back).contains_key("code"), "{back}");
    // An access token is no ID token hint.
    let back = alice_browser.authorize_silently(&silent(alice["access_token"].as_str().unwrap())).await;
    assert_eq!(query(&back)["error"], "invalid_request", "{back}");
}

#[tokio::test]
async fn p1_every_jwks_key_names_its_alg() {
    let s = Server::start().await;
    let r = s.admin.post(s.url(&format!("/admin/tenants/{}/keys/rotate", s.tenant))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "retired keys too");
    let jwks: Value = no_redirects().get(s.t("/jwks")).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    for k in keys {
        let want = match (k["kty"].as_str(), k["crv"].as_str()) {
            (Some("RSA"), None) => "RS256",
            (Some("EC"), Some("P-256")) => "ES256",
            (Some("OKP"), Some("Ed25519")) => "EdDSA",
            other => panic!("unexpected key type {other:?}: {k}"),
        };
        assert_eq!((k["alg"].as_str(), k["use"].as_str()), (Some(want), Some("sig")), "{k}");
        assert!(k["kid"].as_str().is_some_and(|kid| !kid.is_empty()), "{k}");
    }
}

#[tokio::test]
async fn r14_developer_claims_need_the_profile_or_developer_scope() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (st, body) = crate::plugins::install(&s, &s.tenant, "developer_type", json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    const DEV: [&str; 3] = ["developer_type", "review_status", "device_quota"];
    let (b, t) = signed_in(&s, "web", "devscope@example.com", "openid%20email").await;
    let id = payload(t["id_token"].as_str().unwrap());
    let info: Value = no_redirects()
        .get(s.t("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for claim in DEV {
        assert!(id.get(claim).is_none(), "ID token {claim}: {id}");
        assert!(info.get(claim).is_none(), "userinfo {claim}: {info}");
    }
    // With `developer` (or `profile`) they are there.
    for scope in ["openid%20developer", "openid%20profile"] {
        let back = b.authorize_silently(&authorize_url(&s, "web", scope, "")).await;
        let t = redeem(&s, "web", &back).await;
        let id = payload(t["id_token"].as_str().unwrap());
        assert_eq!(id["review_status"], "not_submitted", "{scope}: {id}");
        assert!(id.as_object().unwrap().contains_key("developer_type"), "{scope}: {id}");
    }
}
