//! What the server refuses, and that refusing changes nothing (P10).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{PASSWORD, REDIRECT, SECRET, Server, location, no_redirects, query};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_url(s: &Server, client: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client}&redirect_uri={REDIRECT}&scope=openid&state=st{extra}",
        s.t("/authorize")
    )
}

#[tokio::test]
async fn p2_redirect_uri_mismatch_and_unknown_client_get_an_error_page_not_a_redirect() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    for url in [
        format!(
            "{}?response_type=code&client_id=web&redirect_uri=http://127.0.0.1:9/evil&scope=openid",
            s.t("/authorize")
        ),
        format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}/&scope=openid", s.t("/authorize")),
        format!("{}?response_type=code&client_id=ghost&redirect_uri={REDIRECT}&scope=openid", s.t("/authorize")),
    ] {
        let r = no_redirects().get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("<html"));
    }
}

#[tokio::test]
async fn p2_public_clients_need_pkce_s256_and_plain_is_refused() {
    let s = Server::start().await;
    s.add_client("app", json!({ "public": true, "secret": null })).await;
    let r = no_redirects().get(authorize_url(&s, "app", "")).send().await.unwrap();
    let q = query(&location(&r));
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "st"));
    let r = no_redirects()
        .get(authorize_url(&s, "app", &format!("&code_challenge={CHALLENGE}&code_challenge_method=plain")))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "invalid_request");
    let r = no_redirects()
        .get(authorize_url(&s, "app", &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")))
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("/login?flow="), "with S256 the flow goes on");
}

/// Gets a code for `client` with PKCE S256 (challenge of VERIFIER).
async fn code_with_pkce(s: &Server, client: &str, email: &str) -> String {
    s.add_user(email).await;
    let b = s.browser();
    let back = b
        .authorize_with_login(
            &s.issuer(),
            &authorize_url(s, client, &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")),
            email,
        )
        .await;
    query(&back)["code"].clone()
}

async fn public_token(s: &Server, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = no_redirects().post(s.t("/token")).form(form).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn p3_wrong_verifier_fails_and_right_one_works_for_a_public_client() {
    let s = Server::start().await;
    s.add_client("app", json!({ "public": true, "secret": null })).await;
    let code = code_with_pkce(&s, "app", "pk@example.com").await;
    let wrong = "x".repeat(43);
    let (st, body) = public_token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "app"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &wrong),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let code = code_with_pkce(&s, "app", "pk2@example.com").await;
    let (st, body) = public_token(
        &s,
        &[("grant_type", "authorization_code"), ("client_id", "app"), ("code", &code), ("redirect_uri", REDIRECT)],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a missing verifier fails"
    );
    let code = code_with_pkce(&s, "app", "pk3@example.com").await;
    let (st, body) = public_token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "app"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn p3_code_reuse_fails_and_revokes_what_the_code_issued() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("cr@example.com").await;
    let b = s.browser();
    let back = b.authorize_with_login(&s.issuer(), &authorize_url(&s, "web", ""), "cr@example.com").await;
    let code = query(&back)["code"].clone();
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
    let (st, first) = s.token("web", SECRET, &form).await;
    assert_eq!(st, StatusCode::OK);
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(no_redirects().get(s.t("/userinfo")).bearer_auth(at).send().await.unwrap().status(), StatusCode::OK);
    let (st, again) = s.token("web", SECRET, &form).await;
    assert_eq!((st, again["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(
        no_redirects().get(s.t("/userinfo")).bearer_auth(at).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (st, _) = s
        .token(
            "web",
            SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "the refresh token from the reused code is revoked");
}

#[tokio::test]
async fn p3_expired_code_fails() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("ex@example.com").await;
    let back = s.browser().authorize_with_login(&s.issuer(), &authorize_url(&s, "web", ""), "ex@example.com").await;
    s.clock.advance(61);
    let (st, body) = s
        .token(
            "web",
            SECRET,
            &[("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn p3_wrong_secret_unknown_client_and_wrong_method_are_invalid_client() {
    let s = Server::start().await;
    s.add_client("svc", json!({ "grant_types": ["client_credentials"], "redirect_uris": [] })).await;
    let (st, body) = s.token("svc", "not-the-secret-000", &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (st, body) = s.token("ghost", SECRET, &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    // Registered for client_secret_basic, so client_secret_post is refused.
    let r = no_redirects()
        .post(s.t("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (st, body) = s.token("svc", SECRET, &[("grant_type", "password")]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn p2_prompt_none_without_session_answers_login_required() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let r = no_redirects().get(authorize_url(&s, "web", "&prompt=none")).send().await.unwrap();
    let q = query(&location(&r));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st");
    assert_eq!(q["iss"], s.issuer());
}

#[tokio::test]
async fn p2_prompt_login_and_max_age_force_a_new_sign_in() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("pl@example.com").await;
    let b = s.browser();
    b.authorize_with_login(&s.issuer(), &authorize_url(&s, "web", ""), "pl@example.com").await;
    assert!(query(&b.authorize_silently(&authorize_url(&s, "web", "")).await).contains_key("code"));
    let r = b.get(&authorize_url(&s, "web", "&prompt=login")).await;
    assert!(location(&r).contains("/login?flow="), "prompt=login asks again");
    s.clock.advance(120);
    let r = b.get(&authorize_url(&s, "web", "&max_age=60")).await;
    assert!(location(&r).contains("/login?flow="), "max_age exceeded asks again");
    let back = b.authorize_with_login(&s.issuer(), &authorize_url(&s, "web", "&max_age=60"), "pl@example.com").await;
    assert!(query(&back).contains_key("code"));
}

#[tokio::test]
async fn p10_sign_in_form_without_csrf_token_is_refused() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("cs@example.com").await;
    let b = s.browser();
    let (_, flow, _) = b.open_login(&authorize_url(&s, "web", "")).await;
    let r = b.post(&s.t("/login"), &[("flow", &flow), ("identifier", "cs@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = s.browser();
    let r = other
        .post(
            &s.t("/login"),
            &[("csrf", "forged"), ("flow", &flow), ("identifier", "cs@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn p10_malformed_bodies_get_400_with_a_code_and_store_nothing() {
    let s = Server::start().await;
    let users = s.url(&format!("/admin/tenants/{}/users", s.tenant));
    for body in ["{not json", r#"{"email":"a@b.co"}"#, r#"{"email":"a@b.co","password":"long enough pw","extra":1}"#] {
        let r = s.admin.post(&users).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
    for bad in [
        json!({ "email": "not-an-email", "password": PASSWORD }),
        json!({ "phone": "12345", "password": PASSWORD }),
        json!({ "email": "x@y.co", "password": "short" }),
        json!({ "name": "a".repeat(5000), "password": PASSWORD }),
    ] {
        let r = s.admin.post(&users).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_input");
    }
    let r = s
        .admin
        .post(s.url(&format!("/admin/tenants/{}/clients", s.tenant)))
        .json(&json!({ "id": "x", "redirect_uris": ["not a uri"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = no_redirects()
        .post(s.t("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=%ZZ&&=")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let listed: Value = s.admin.get(&users).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]), "nothing was stored");
    let clients: Value =
        s.admin.get(s.url(&format!("/admin/tenants/{}/clients", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert_eq!(clients, json!([]));
}

#[tokio::test]
async fn p10_wrong_admin_token_is_401() {
    let s = Server::start().await;
    for token in [Some("wrong"), None] {
        let mut req = no_redirects().get(s.url("/admin/tenants"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthorized");
    }
}

/// Bad input to the second-step, passkey, CAPTCHA and third-party endpoints: a 4xx
/// with a stable answer, never a 5xx (R19, R20, R17).
#[tokio::test]
async fn r17_r19_r20_bad_input_to_the_new_endpoints_is_a_4xx() {
    let s = Server::start().await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let csrf = crate::kit::field(&html, "csrf");
    let form_posts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/login/verify", vec![("csrf", &csrf), ("method", "totp"), ("code", "123456")]),
        ("/login/verify", vec![("csrf", "wrong"), ("method", "nonsense")]),
        ("/login/verify/send", vec![("csrf", &csrf), ("method", "totp")]),
        ("/federation/first/create", vec![("csrf", &csrf)]),
        ("/federation/first/link", vec![("csrf", &csrf), ("identifier", "x"), ("password", "y")]),
        ("/federation/first/code", vec![("csrf", &csrf), ("code", "000000")]),
        ("/federation/contact", vec![("csrf", &csrf), ("kind", "fax"), ("value", "1"), ("code", "1")]),
        ("/account/linked/unlink", vec![("csrf", &csrf), ("upstream", "x"), ("subject", "y")]),
    ];
    for (path, form) in form_posts {
        let r = b.post(&s.t(path), &form).await;
        let st = r.status();
        assert!(st.is_client_error() || st.is_redirection(), "{path}: {st} {}", r.text().await.unwrap());
    }
    let json_posts = [
        // An unknown identifier is not bad input: it gets a decoy challenge (R36); a
        // malformed one is.
        ("/login/passkey/start", json!({ "csrf": csrf, "identifier": "not an identifier!" })),
        ("/login/passkey/start", json!({ "csrf": csrf, "identifier": "" })),
        ("/login/passkey/finish", json!({ "csrf": csrf, "ceremony": "x", "credential": { "id": 3 } })),
        ("/login/passkey/finish", json!({ "csrf": csrf, "ceremony": "x".repeat(5000), "credential": "nope" })),
        ("/login/verify/passkey/start", json!({ "csrf": csrf })),
        ("/login/verify/passkey/finish", json!({ "csrf": csrf, "ceremony": "x" })),
        ("/login/passkey/start", json!({ "identifier": "a" })),
    ];
    for (path, body) in json_posts {
        let r = b.http.post(s.t(path)).json(&body).send().await.unwrap();
        let st = r.status();
        assert!(st.is_client_error(), "{path}: {st} {}", r.text().await.unwrap());
    }
    for path in [
        "/federation/nobody/start",
        "/federation/nobody/callback?state=x&code=y",
        &format!("/federation/{}/start", "x".repeat(300)),
        "/login/verify",
        "/federation/first",
    ] {
        let st = b.get(&s.t(path)).await.status();
        assert!(st.is_client_error(), "{path}: {st}");
    }
    let bad_upstreams = [
        json!({ "id": "Bad Id", "display_name": "x", "protocol": "oidc", "issuer": "https://a.example", "client_id": "c" }),
        json!({ "id": "ok", "display_name": "x", "protocol": "oidc", "client_id": "c" }),
        json!({ "id": "ok", "display_name": "x", "protocol": "oauth2", "client_id": "c", "authorization_endpoint": "ftp://x" }),
        json!({ "id": "ok", "display_name": "x", "protocol": "smoke-signals", "client_id": "c" }),
        json!({ "id": "ok", "display_name": "x", "protocol": "oidc", "issuer": "https://a.example", "client_id": "c", "icon": "javascript:alert(1)" }),
    ];
    for body in bad_upstreams {
        let r =
            s.admin.put(s.url(&format!("/admin/tenants/{}/upstreams/ok", s.tenant))).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let r = s.admin.get(s.url(&format!("/admin/tenants/{}/upstreams", s.tenant))).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]), "nothing was stored");
}
