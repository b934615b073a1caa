//! Third-party sign-in (R17, R28) with a second Latchkey server as the upstream
//! OpenID Connect provider: real HTTP, real tokens, real ID token verification.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, SECRET, Server, field, location, query};

pub(crate) const UP: &str = "parent";

/// A downstream server (tenant t1) and an upstream one (tenant `parent`) that knows
/// the downstream as client "down"; the downstream lists it as upstream "parent".
pub(crate) async fn pair() -> (Server, Server) {
    let s = Server::start().await;
    let mut up = Server::start().await;
    up.tenant = up.add_tenant(UP).await;
    let callback = s.t(&format!("/federation/{UP}/callback"));
    up.add_client("down", json!({ "redirect_uris": [callback] })).await;
    let config = json!({
        "id": UP, "display_name": "Parent Co", "protocol": "oidc", "issuer": up.issuer(),
        "client_id": "down", "client_secret": SECRET, "scopes": ["openid", "email", "profile", "phone"],
    });
    let r =
        s.admin.put(s.url(&format!("/admin/tenants/{}/upstreams/{UP}", s.tenant))).json(&config).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let listed: Value = r.json().await.unwrap();
    assert!(listed.get("client_secret").is_none(), "secrets are write-only");
    (s, up)
}

/// Registers `email` by email code at `server` (a verified email).
pub(crate) async fn register_email(server: &Server, email: &str) -> String {
    let body = json!({ "purpose": "register", "channel": "email", "to": email });
    let code = server.mail_code(email, server.api("/api/codes", body)).await;
    let (st, v) =
        server.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    server.clock.advance(61);
    v["account_id"].as_str().unwrap().to_string()
}

/// From the downstream's start URL, through the upstream's sign-in as `who`, to the
/// downstream callback; returns the callback's response.
async fn via_upstream(s: &Server, up: &Server, b: &Browser, start: &str, who: &str) -> reqwest::Response {
    let r = b.get(start).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    let authorize = location(&r);
    assert!(authorize.starts_with(&up.issuer()), "{authorize}");
    let back = upstream_login(up, b, &authorize, who).await;
    assert!(back.starts_with(&s.t(&format!("/federation/{UP}/callback"))), "{back}");
    b.get(&back).await
}

/// Signs in at the upstream (its pages, its URLs) and returns where it sends the browser back.
pub(crate) async fn upstream_login(up: &Server, b: &Browser, authorize: &str, who: &str) -> String {
    let abs = |u: String| if u.starts_with('/') { up.url(&u) } else { u };
    let r = b.get(authorize).await;
    let html = b.get(&abs(location(&r))).await.text().await.unwrap();
    let r = b.submit_login(&up.issuer(), &field(&html, "csrf"), &field(&html, "flow"), who, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND, "upstream sign-in failed: {}", r.text().await.unwrap());
    let r = b.get(&abs(location(&r))).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    location(&r)
}

fn start_url(s: &Server) -> String {
    s.t(&format!("/federation/{UP}/start"))
}

async fn accounts(s: &Server) -> Vec<Value> {
    s.admin.get(s.url(&format!("/admin/tenants/{}/users", s.tenant))).send().await.unwrap().json().await.unwrap()
}

async fn signed_in_as(s: &Server, b: &Browser) -> Option<String> {
    let r = b.http.get(s.t("/api/account")).send().await.unwrap();
    if r.status() != StatusCode::OK {
        return None;
    }
    r.json::<Value>().await.unwrap()["id"].as_str().map(str::to_string)
}

async fn post_page(b: &Browser, s: &Server, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = b.get(&s.t(page)).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    b.post(&s.t(action), &form).await
}

#[tokio::test]
async fn r17_first_sign_in_creates_an_account_and_tokens_say_fed_with_our_own_sub() {
    let (s, up) = pair().await;
    s.add_client("web", json!({})).await;
    let upstream_id = register_email(&up, "alice@example.com").await;
    let login = s.browser().get(&s.t("/login")).await.text().await.unwrap();
    assert!(login.contains("Parent Co"), "the sign-in page offers the upstream");

    let b = s.browser();
    let r = via_upstream(&s, &up, &b, &start_url(&s), "alice@example.com").await;
    assert_eq!(location(&r), format!("/t/{}/federation/first", s.tenant));
    assert_eq!(accounts(&s).await.len(), 0, "nothing is created before the person chooses");
    let r = post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    let id = signed_in_as(&s, &b).await.expect("signed in");
    assert_ne!(id, upstream_id, "Latchkey's own account id, not the upstream's");
    let list = accounts(&s).await;
    assert_eq!(list.len(), 1);
    assert!(list[0].to_string().contains("alice@example.com"), "the verified email is bound: {list:?}");

    // Through an app, the second time: straight in, amr says fed, sub is ours.
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&scope=openid&nonce=n1",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let r = b.get(&url).await;
    let flow = query(&format!("http://x{}", location(&r)))["flow"].clone();
    let r = via_upstream(&s, &up, &b, &format!("{}?flow={flow}", start_url(&s)), "alice@example.com").await;
    let r = b.get(&location(&r)).await;
    let back = location(&r);
    assert!(back.starts_with(crate::kit::REDIRECT), "{back}");
    let (st, t) = s
        .token(
            "web",
            SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query(&back)["code"]),
                ("redirect_uri", crate::kit::REDIRECT),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let claims = crate::two_step::payload(t["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["amr"], json!(["fed"]));
}

#[tokio::test]
async fn r17_r28_link_by_signing_in_then_unlink_keeps_the_password() {
    let (s, up) = pair().await;
    let m = "+8613800138601";
    let mine = s.register_mobile(m).await;
    register_email(&up, "bob@example.com").await;
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), "bob@example.com").await;
    let r = post_page(
        &b,
        &s,
        "/federation/first",
        "/federation/first/link",
        &[("identifier", m), ("password", "nope nope")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a wrong password links nothing");
    let r =
        post_page(&b, &s, "/federation/first", "/federation/first/link", &[("identifier", m), ("password", PASSWORD)])
            .await;
    assert!(r.status().is_redirection(), "{}", r.text().await.unwrap());
    assert_eq!(signed_in_as(&s, &b).await.as_deref(), Some(mine.as_str()));
    // The next upstream sign-in goes straight to that account.
    let b2 = s.browser();
    let r = via_upstream(&s, &up, &b2, &start_url(&s), "bob@example.com").await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    assert_eq!(signed_in_as(&s, &b2).await.as_deref(), Some(mine.as_str()));
    // Listed, and unlinkable: the account still has its password.
    let html = b.get(&s.t("/account/linked")).await.text().await.unwrap();
    assert!(html.contains("Parent Co"), "{html}");
    let subject = field(&html, "subject");
    let r = post_page(&b, &s, "/account/linked", "/account/linked/unlink", &[("upstream", UP), ("subject", &subject)])
        .await;
    assert_eq!(location(&r), format!("/t/{}/account/linked?done=unlinked", s.tenant));
    assert!(!b.get(&s.t("/account/linked")).await.text().await.unwrap().contains("name=\"subject\""));
}

#[tokio::test]
async fn r28_the_last_way_to_sign_in_cannot_be_unlinked() {
    let (s, up) = pair().await;
    register_email(&up, "carol@example.com").await;
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), "carol@example.com").await;
    post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    let html = b.get(&s.t("/account/linked")).await.text().await.unwrap();
    let subject = field(&html, "subject");
    let r = post_page(&b, &s, "/account/linked", "/account/linked/unlink", &[("upstream", UP), ("subject", &subject)])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("last way to sign in"));
    assert!(b.get(&s.t("/account/linked")).await.text().await.unwrap().contains(&subject), "still linked");
}

#[tokio::test]
async fn r17_link_by_a_code_to_the_email_the_upstream_verified() {
    let (s, up) = pair().await;
    let mine = register_email(&s, "dave@example.com").await;
    register_email(&up, "dave@example.com").await;
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), "dave@example.com").await;
    let html = b.get(&s.t("/federation/first")).await.text().await.unwrap();
    assert!(html.contains("d***@example.com"), "offers a code to the matching account's email: {html}");
    let csrf = field(&html, "csrf");
    let code = s
        .mail_code("dave@example.com", async {
            let r = b.post(&s.t("/federation/first/code/send"), &[("csrf", csrf.as_str())]).await;
            (r.status(), Value::Null)
        })
        .await;
    let r = b.post(&s.t("/federation/first/code"), &[("csrf", csrf.as_str()), ("code", "000000")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = b.post(&s.t("/federation/first/code"), &[("csrf", csrf.as_str()), ("code", code.as_str())]).await;
    assert!(r.status().is_redirection());
    assert_eq!(signed_in_as(&s, &b).await.as_deref(), Some(mine.as_str()));
}

#[tokio::test]
async fn r17_an_unverified_upstream_email_never_offers_a_link() {
    let (s, up) = pair().await;
    register_email(&s, "erin@example.com").await;
    up.add_user("erin@example.com").await; // created by an admin: not verified
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), "erin@example.com").await;
    let html = b.get(&s.t("/federation/first")).await.text().await.unwrap();
    assert!(!html.contains("e***@example.com") && !html.contains("/federation/first/code"), "{html}");
    let r = b.post(&s.t("/federation/first/code/send"), &[("csrf", field(&html, "csrf").as_str())]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A new account is possible, without that email.
    post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    let list = accounts(&s).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|a| a.to_string().contains("erin@example.com")).count(), 1);
}

#[tokio::test]
async fn r17_the_tenant_can_require_a_mobile_before_continuing() {
    let (s, up) = pair().await;
    s.settings(json!({ "federation": { "require_contact": "mobile" } })).await;
    register_email(&up, "fay@example.com").await;
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), "fay@example.com").await;
    let r = post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    assert_eq!(location(&r), format!("/t/{}/federation/contact", s.tenant));
    assert_eq!(signed_in_as(&s, &b).await, None, "no session before the mobile is added");
    let m = "+8613800138602";
    let html = b.get(&s.t("/federation/contact")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let code = s
        .sms_code(m, async {
            let r =
                b.post(&s.t("/federation/contact/send"), &[("csrf", &csrf), ("kind", "mobile"), ("value", m)]).await;
            (r.status(), Value::Null)
        })
        .await;
    let r = b
        .post(&s.t("/federation/contact"), &[("csrf", &csrf), ("kind", "mobile"), ("value", m), ("code", &code)])
        .await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    let (_, v) = (StatusCode::OK, b.http.get(s.t("/api/account")).send().await.unwrap().json::<Value>().await.unwrap());
    assert_eq!(v["mobile"], "+86138****8602");
}

#[tokio::test]
async fn r17_a_wrong_state_a_wrong_nonce_and_an_upstream_error_create_nothing() {
    let (s, up) = pair().await;
    register_email(&up, "gus@example.com").await;
    // Wrong state: a callback this browser did not start.
    let b = s.browser();
    let r = b.get(&start_url(&s)).await;
    let state = query(&location(&r))["state"].clone();
    let r = s.browser().get(&s.t(&format!("/federation/{UP}/callback?state={state}&code=x"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "another browser cannot use the state");
    let r = b.get(&s.t(&format!("/federation/{UP}/callback?state=AAAA{}&code=x", &state[4..]))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // An upstream error page.
    let b = s.browser();
    let r = b.get(&start_url(&s)).await;
    let state = query(&location(&r))["state"].clone();
    let r = b.get(&s.t(&format!("/federation/{UP}/callback?state={state}&error=access_denied"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("access_denied"));
    // A wrong nonce: the upstream signs the nonce it was given, not ours.
    let b = s.browser();
    let r = b.get(&start_url(&s)).await;
    let authorize = location(&r).replace("nonce=", "nonce=forged");
    let back = upstream_login(&up, &b, &authorize, "gus@example.com").await;
    let r = b.get(&back).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("could not be verified"));
    assert!(accounts(&s).await.is_empty(), "nothing half-created");
}

#[tokio::test]
async fn r17_an_upstream_that_is_down_gets_a_clear_error_and_nothing_is_created() {
    let (s, up) = pair().await;
    register_email(&up, "hal@example.com").await;
    let b = s.browser();
    let r = b.get(&start_url(&s)).await;
    let back = upstream_login(&up, &b, &location(&r), "hal@example.com").await;
    up.running.stop().await;
    let r = b.get(&back).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains("cannot be reached"));
    assert!(accounts(&s).await.is_empty());
    // Starting again while it is down: the same clear answer.
    let r = s.browser().get(&start_url(&s)).await;
    assert!(r.status() == StatusCode::BAD_GATEWAY || r.status() == StatusCode::FOUND, "{}", r.status());
}

async fn put_upstream(s: &Server, config: Value) {
    let id = config["id"].as_str().unwrap().to_string();
    let r =
        s.admin.put(s.url(&format!("/admin/tenants/{}/upstreams/{id}", s.tenant))).json(&config).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn r17_a_plain_oauth2_upstream_maps_its_claims_and_an_apple_style_one_posts_its_answer() {
    use crate::peers::oauth2_upstream::OAuth2Upstream;
    let s = Server::start().await;
    let wechat = OAuth2Upstream::start("wx-app", "wx-secret", &s.t("/federation/wechat/")).await;
    put_upstream(
        &s,
        json!({
            "id": "wechat", "display_name": "WeChat", "protocol": "oauth2",
            "authorization_endpoint": wechat.url("/authorize"), "token_endpoint": wechat.url("/token"),
            "userinfo_endpoint": wechat.url("/userinfo"), "client_id": "wx-app", "client_secret": "wx-secret",
            "scopes": ["snsapi_login"], "claims": { "subject": ["unionid", "openid"], "name": "nickname" },
        }),
    )
    .await;
    wechat.sign_in_as(json!({ "nickname": "Wei" }));
    wechat.token_fields(json!({ "openid": "o-wei", "unionid": "u-wei" }));
    let b = s.browser();
    let r = b.get(&s.t("/federation/wechat/start")).await;
    let r = b.get(&location(&r)).await;
    let r = b.get(&location(&r)).await;
    assert_eq!(location(&r), format!("/t/{}/federation/first", s.tenant));
    let r = post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    assert!(r.status().is_redirection());
    assert!(signed_in_as(&s, &b).await.is_some());
    let html = b.get(&s.t("/account/linked")).await.text().await.unwrap();
    assert!(html.contains("WeChat") && html.contains("Wei") && field(&html, "subject") == "u-wei", "{html}");

    // Apple-style: a JWT client secret and the answer POSTed from the upstream's page.
    let apple = OAuth2Upstream::start("com.example.web", "unused", &s.t("/federation/apple/")).await;
    let (pem, public) = crate::upstream_client::p256_key();
    apple.expect_jwt_secret(&public, "TEAM123", "KEY456", "https://appleid.example");
    apple.sign_in_as(json!({ "sub": "001234.abcd", "email": "relay@privaterelay.example", "email_verified": true }));
    put_upstream(
        &s,
        json!({
            "id": "apple", "display_name": "Apple", "protocol": "oauth2", "response_mode": "form_post",
            "authorization_endpoint": apple.url("/authorize"), "token_endpoint": apple.url("/token"),
            "userinfo_endpoint": apple.url("/userinfo"), "client_id": "com.example.web",
            "claims": { "subject": ["sub"] },
            "client_secret_jwt": { "team_id": "TEAM123", "key_id": "KEY456", "audience": "https://appleid.example", "private_key": pem },
        }),
    )
    .await;
    let b = s.browser();
    let r = b.get(&s.t("/federation/apple/start")).await;
    let html = b.get(&location(&r)).await.text().await.unwrap();
    let (state, code) = (field(&html, "state"), field(&html, "code"));
    let form = [("state", state.as_str()), ("code", code.as_str())];
    // From the upstream's site the browser sends no Lax cookie: the answer is posted again from ours.
    let r = s.browser().post(&s.t("/federation/apple/callback"), &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let again = r.text().await.unwrap();
    assert!(again.contains("name=\"resubmitted\"") && again.contains(&code), "{again}");
    let r =
        b.post(&s.t("/federation/apple/callback"), &[("state", &state), ("code", &code), ("resubmitted", "1")]).await;
    assert_eq!(location(&r), format!("/t/{}/federation/first", s.tenant));
    post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    assert!(signed_in_as(&s, &b).await.is_some());
    assert_eq!(accounts(&s).await.len(), 2);
}

#[tokio::test]
async fn p4_r17_an_app_asking_for_two_factors_gets_them_after_an_upstream_sign_in() {
    let (s, up) = pair().await;
    s.add_client("web", json!({})).await;
    let email = "ivy@example.com";
    register_email(&up, email).await;
    let b = s.browser();
    via_upstream(&s, &up, &b, &start_url(&s), email).await;
    post_page(&b, &s, "/federation/first", "/federation/first/create", &[]).await;
    s.clock.advance(61);

    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&scope=openid&acr_values=2",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let flow = query(&format!("http://x{}", location(&b.get(&url).await)))["flow"].clone();
    let r = via_upstream(&s, &up, &b, &format!("{}?flow={flow}", start_url(&s)), email).await;
    assert_eq!(location(&r), format!("/t/{}/login/verify", s.tenant), "the app asked for two factors");
    let html = b.get(&s.t("/login/verify?method=email")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let code = s
        .mail_code(email, async {
            let r = b.post(&s.t("/login/verify/send"), &[("csrf", csrf.as_str()), ("method", "email")]).await;
            (r.status(), Value::Null)
        })
        .await;
    let r = b.post(&s.t("/login/verify"), &[("csrf", &csrf), ("method", "email"), ("code", &code)]).await;
    let r = b.get(&location(&r)).await;
    let back = location(&r);
    assert!(back.starts_with(crate::kit::REDIRECT), "no second round: {back}");
    let form =
        [("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", crate::kit::REDIRECT)];
    let (_, t) = s.token("web", SECRET, &form).await;
    let claims = crate::two_step::payload(t["id_token"].as_str().unwrap());
    assert_eq!((claims["acr"].as_str(), claims["amr"].clone()), (Some("2"), json!(["fed", "otp", "mfa"])));
}
