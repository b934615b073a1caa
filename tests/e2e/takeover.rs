//! Issue 10 items 1, 3 and 4: the account-takeover path. Adding a recovery channel
//! needs a fresh proof (R24, R25, R27), a token alone is not enough, a password change
//! or reset revokes every app token (R23, R34; RFC 9700 4.14.2), and a new
//! authenticator or upstream link needs a proof and sends a notice (R20, R28, R38).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, REDIRECT, SECRET, Server, field, location, no_redirects, query};

const ATTACKER: &str = "attacker@example.com";

/// A browser signed in (no authorization flow) as `identifier`.
async fn signed_in(s: &Server, identifier: &str) -> Browser {
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", identifier, PASSWORD).await;
    assert!(r.status().is_redirection(), "sign-in failed: {}", r.status());
    b
}

/// Signs `identifier` in to `client` with `scope` (consenting if asked) and exchanges
/// the code; returns the token response.
async fn app_tokens(s: &Server, b: &Browser, client: &str, identifier: &str, scope: &str) -> Value {
    let url =
        format!("{}?response_type=code&client_id={client}&redirect_uri={REDIRECT}&scope={scope}", s.t("/authorize"));
    let mut r = b.get(&url).await;
    if location(&r).contains("/login") {
        let html = b.get(&location(&r)).await.text().await.unwrap();
        let r2 = b.submit_login(&s.issuer(), &field(&html, "csrf"), &field(&html, "flow"), identifier, PASSWORD).await;
        assert_eq!(r2.status(), StatusCode::FOUND, "{}", r2.text().await.unwrap());
        r = b.get(&location(&r2)).await;
    }
    if r.status() == StatusCode::OK {
        // A third-party app: the consent page.
        let html = r.text().await.unwrap();
        let consent = [("csrf", field(&html, "csrf")), ("flow", field(&html, "flow")), ("decision", "allow".into())];
        let pairs: Vec<(&str, &str)> = consent.iter().map(|(k, v)| (*k, v.as_str())).collect();
        r = b.post(&s.t("/consent"), &pairs).await;
    }
    let to = location(&r);
    let code = query(&to)["code"].clone();
    let (st, t) = s
        .token(client, SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    t
}

/// Calls the account API with a bearer token.
async fn with_token(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = no_redirects().post(s.t(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// The code the server mails to `email` when `send` runs.
async fn new_email_code(s: &Server, send: impl std::future::Future<Output = (StatusCode, Value)>) -> String {
    s.mail_code(ATTACKER, send).await
}

/// The account's channels as its holder sees them.
async fn channels(s: &Server, b: &Browser) -> Vec<Value> {
    let r = b.http.get(s.t("/api/account")).send().await.unwrap();
    r.json::<Value>().await.unwrap()["channels"].as_array().unwrap().clone()
}

/// Whether a password reset by a link to `email` is possible: the link is mailed only
/// to a recovery email of an account.
async fn reset_link_reaches(s: &Server, email: &str) -> bool {
    let n = s.mail.count_to(email);
    let captcha = s.captcha().await;
    let (st, body) = s.api("/api/recover/link", json!({ "email": email, "captcha": captcha })).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    s.deliveries_settled().await;
    s.mail.count_to(email) > n
}

#[tokio::test]
async fn r24_an_account_token_cannot_bind_a_recovery_email_without_proof() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138701";
    s.register_mobile(m).await;
    let b = s.browser();
    let t = app_tokens(&s, &b, "web", m, "openid%20account").await;
    let at = t["access_token"].as_str().unwrap();
    let code = new_email_code(
        &s,
        with_token(&s, at, "/api/account/channels/email/code", json!({ "target": "new", "value": ATTACKER })),
    )
    .await;
    let (st, body) =
        with_token(&s, at, "/api/account/channels/email", json!({ "value": ATTACKER, "code": code })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("proof_required")), "{body}");
    let (st, body) = with_token(&s, at, "/api/account/email-link", json!({ "email": ATTACKER })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("proof_required")), "{body}");
    // Later than five minutes after the sign-in, the token cannot even try.
    s.clock.advance(5 * 60 + 1);
    let body = json!({ "value": ATTACKER, "code": code, "current_password": PASSWORD });
    let (st, body) = with_token(&s, at, "/api/account/channels/email", body).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("reauthentication_required")), "{body}");
    let (st, body) = with_token(
        &s,
        at,
        "/api/account/password",
        json!({ "current_password": PASSWORD, "new_password": "x new password" }),
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("reauthentication_required")), "{body}");
    assert!(!reset_link_reaches(&s, ATTACKER).await, "nothing was bound");
}

#[tokio::test]
async fn r24_a_stolen_session_cannot_add_an_email_without_proof() {
    let s = Server::start().await;
    let m = "+8613800138702";
    s.register_mobile(m).await;
    let thief = signed_in(&s, m).await;
    let send =
        thief.http.post(s.t("/api/account/channels/email/code")).json(&json!({ "target": "new", "value": ATTACKER }));
    let code = new_email_code(&s, async {
        let r = send.send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    })
    .await;
    let r = thief
        .http
        .post(s.t("/api/account/channels/email"))
        .json(&json!({ "value": ATTACKER, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "proof_required");
    let r = thief.http.post(s.t("/api/account/email-link")).json(&json!({ "email": ATTACKER })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The page asks for the current password too, and refuses without it.
    let html = thief.get(&s.t("/account/email")).await.text().await.unwrap();
    assert!(html.contains("name=\"current_password\""), "{html}");
    let form =
        [("csrf", field(&html, "csrf")), ("next", String::new()), ("value", ATTACKER.into()), ("code", code.clone())];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(thief.post(&s.t("/account/email"), &pairs).await.status(), StatusCode::FORBIDDEN);
    let wrong = [&pairs[..], &[("current_password", "a guessed password")]].concat();
    assert_eq!(thief.post(&s.t("/account/email"), &wrong).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(channels(&s, &thief).await.len(), 1, "nothing bound");
    s.clock.advance(61);
    assert!(!reset_link_reaches(&s, ATTACKER).await, "no password reset by the attacker's email");
}

#[tokio::test]
async fn r25_adding_a_mobile_needs_a_proof() {
    let s = Server::start().await;
    let email = "owner@example.com";
    let code = s
        .mail_code(email, s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": email })))
        .await;
    let (st, v) =
        s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s.clock.advance(61);
    let b = signed_in(&s, email).await;
    let m = "+8613800138703";
    let send =
        || b.http.post(s.t("/api/account/channels/mobile/code")).json(&json!({ "target": "new", "value": m })).send();
    let n = s.sms.count_to(m);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let code = crate::peers::six_digits(s.sms.nth(m, n).await["text"].as_str().unwrap()).unwrap();
    let post = |body: Value| b.http.post(s.t("/api/account/channels/mobile")).json(&body).send();
    let r = post(json!({ "value": m, "code": code })).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no proof");
    // "Use another method" (R27): a code to the account's recovery email.
    let proof = s
        .mail_code(email, async {
            let r = b.http.post(s.t("/api/account/identity-code")).json(&json!({ "channel": 0 })).send().await.unwrap();
            (r.status(), r.json().await.unwrap())
        })
        .await;
    let r = post(json!({ "value": m, "code": code, "identity_channel": 0, "identity_code": proof })).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["mobile"], "+86138****8703", "{v}");
    assert_eq!(v["channels"][1]["roles"], json!({ "login": true, "recovery": true, "contact": true }));
}

#[tokio::test]
async fn r24_a_recent_first_party_token_with_proof_adds_an_email() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138704";
    s.register_mobile(m).await;
    let t = app_tokens(&s, &s.browser(), "web", m, "openid%20account").await;
    let at = t["access_token"].as_str().unwrap();
    let email = "mine@example.com";
    let code = s
        .mail_code(
            email,
            with_token(&s, at, "/api/account/channels/email/code", json!({ "target": "new", "value": email })),
        )
        .await;
    let before = s.sms.count_to(m);
    let body = json!({ "value": email, "code": code, "current_password": PASSWORD });
    let (st, v) = with_token(&s, at, "/api/account/channels/email", body).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "m***@example.com");
    let notice = s.sms.nth(m, before).await;
    assert!(notice["text"].as_str().unwrap().contains("m***@example.com"), "the old channel was told: {notice}");
}

#[tokio::test]
async fn r24_a_third_party_token_is_refused_even_with_a_proof() {
    let s = Server::start().await;
    s.add_client("third", json!({ "first_party": false })).await;
    let m = "+8613800138705";
    s.register_mobile(m).await;
    let t = app_tokens(&s, &s.browser(), "third", m, "openid%20account").await;
    let at = t["access_token"].as_str().unwrap();
    let body = json!({ "value": ATTACKER, "code": "123456", "current_password": PASSWORD });
    let (st, body) = with_token(&s, at, "/api/account/channels/email", body).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("reauthentication_required")), "{body}");
    let (st, _) =
        with_token(&s, at, "/api/account/channels/email/code", json!({ "target": "new", "value": ATTACKER })).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "not even a code is sent");
    let body = json!({ "current_password": PASSWORD, "new_password": "taken over now" });
    assert_eq!(with_token(&s, at, "/api/account/password", body).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.mail.count_to(ATTACKER), 0);
}

/// Refresh, introspection and userinfo of an app's tokens: (refresh status, active, userinfo status).
async fn token_state(s: &Server, t: &Value) -> (StatusCode, bool, StatusCode) {
    let rt = t["refresh_token"].as_str().unwrap();
    let at = t["access_token"].as_str().unwrap();
    let r = no_redirects()
        .post(s.t("/introspect"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    let active = r.json::<Value>().await.unwrap()["active"].as_bool().unwrap();
    let userinfo = no_redirects().get(s.t("/userinfo")).bearer_auth(at).send().await.unwrap().status();
    let (refresh, _) = s.token("web", SECRET, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    (refresh, active, userinfo)
}

#[tokio::test]
async fn r23_a_password_change_revokes_the_apps_refresh_tokens() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138706";
    s.register_mobile(m).await;
    let app = app_tokens(&s, &s.browser(), "web", m, "openid").await;
    let other = app_tokens(&s, &s.browser(), "web", m, "openid").await;
    let at = other["access_token"].as_str().unwrap();
    let r = no_redirects()
        .post(s.t("/introspect"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["active"], true);
    // The account center's page changes the password.
    let b = signed_in(&s, m).await;
    let html = b.get(&s.t("/account/password")).await.text().await.unwrap();
    let form = [
        ("csrf", field(&html, "csrf").as_str()),
        ("method", "password"),
        ("current_password", PASSWORD),
        ("password", "a changed password"),
        ("password2", "a changed password"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(b.post(&s.t("/account/password"), &pairs).await.status(), StatusCode::OK);
    for t in [&app, &other] {
        assert_eq!(token_state(&s, t).await, (StatusCode::BAD_REQUEST, false, StatusCode::UNAUTHORIZED));
    }
}

#[tokio::test]
async fn r34_a_password_reset_revokes_every_refresh_family() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138707";
    s.register_mobile(m).await;
    let mut families = Vec::new();
    for _ in 0..3 {
        families.push(app_tokens(&s, &s.browser(), "web", m, "openid").await);
    }
    let captcha = s.captcha().await;
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": captcha }))).await;
    let (st, body) =
        s.api("/api/recover", json!({ "identifier": m, "code": code, "new_password": "reset by code now" })).await;
    assert!(st.is_success(), "{body}");
    for t in &families {
        assert_eq!(token_state(&s, t).await, (StatusCode::BAD_REQUEST, false, StatusCode::UNAUTHORIZED));
    }
    // A new sign-in after the reset gets working tokens.
    let b = s.browser();
    let url = format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid", s.t("/authorize"));
    let (csrf, flow, _) = b.open_login(&url).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, m, "reset by code now").await;
    let back = location(&b.get(&location(&r)).await);
    let code = query(&back)["code"].clone();
    let (st, fresh) = s
        .token("web", SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK, "{fresh}");
    assert_eq!(token_state(&s, &fresh).await, (StatusCode::OK, true, StatusCode::OK));
}

#[tokio::test]
async fn r20_enrolling_an_authenticator_needs_the_current_password() {
    let s = Server::start().await;
    s.register_mobile("+8613800138708").await;
    let b = signed_in(&s, "+8613800138708").await;
    let (st, html) = crate::security::post(&s, &b, "/totp/start", &[]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{html}");
    assert!(!html.contains("totp-secret"), "no key is shown");
    let (st, _) = crate::security::post(&s, &b, "/totp/start", &[("current_password", "not it at all")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let html = crate::security::security_page(&s, &b).await;
    assert!(!html.contains("totp_code"), "no setup is pending");
    assert!(!crate::security::start_totp(&s, &b).await.is_empty(), "with the password it starts");
}

#[tokio::test]
async fn r38_a_new_authenticator_sends_a_notice() {
    let s = Server::start().await;
    let m = "+8613800138709";
    s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    let secret = crate::security::start_totp(&s, &b).await.replace(' ', "");
    let code = latchkey_core::credential::totp::code_at(&secret, latchkey_core::Clock::now(&*s.clock)).unwrap();
    let before = s.sms.count_to(m);
    let (st, _) = crate::security::post(&s, &b, "/totp/confirm", &[("code", &code)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let notice = s.sms.nth(m, before).await;
    assert!(notice["text"].as_str().unwrap().contains("authenticator app was set up"), "{notice}");
    let before = s.sms.count_to(m);
    let (st, _) = crate::security::post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(s.sms.nth(m, before).await["text"].as_str().unwrap().contains("new recovery codes"));
}

#[tokio::test]
async fn r28_linking_an_upstream_needs_a_post_with_proof() {
    let (s, up) = crate::federation::pair().await;
    let m = "+8613800138710";
    s.register_mobile(m).await;
    crate::federation::register_email(&up, "linked@example.com").await;
    let b = signed_in(&s, m).await;
    let r = b.get(&s.t(&format!("/federation/{}/start?mode=link", crate::federation::UP))).await;
    assert_eq!(location(&r), format!("/t/{}/account/linked", s.tenant), "the GET only shows the form");
    let html = b.get(&s.t("/account/linked")).await.text().await.unwrap();
    assert!(html.contains("/account/linked/link") && html.contains("name=\"current_password\""), "{html}");
    let csrf = field(&html, "csrf");
    let no_proof = [("csrf", csrf.as_str()), ("upstream", crate::federation::UP)];
    let r = b.post(&s.t("/account/linked/link"), &no_proof).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let wrong = [&no_proof[..], &[("current_password", "guess guess")]].concat();
    assert_eq!(b.post(&s.t("/account/linked/link"), &wrong).await.status(), StatusCode::UNAUTHORIZED);
    let right = [&no_proof[..], &[("current_password", PASSWORD)]].concat();
    let r = b.post(&s.t("/account/linked/link"), &right).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(location(&r).starts_with(&up.issuer()), "to the upstream");
}

#[tokio::test]
async fn r38_a_new_upstream_link_sends_a_notice() {
    let (s, up) = crate::federation::pair().await;
    let m = "+8613800138711";
    s.register_mobile(m).await;
    crate::federation::register_email(&up, "linker@example.com").await;
    let b = signed_in(&s, m).await;
    let html = b.get(&s.t("/account/linked")).await.text().await.unwrap();
    let form = [
        ("csrf", field(&html, "csrf")),
        ("upstream", crate::federation::UP.into()),
        ("current_password", PASSWORD.into()),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&s.t("/account/linked/link"), &pairs).await;
    let back = crate::federation::upstream_login(&up, &b, &location(&r), "linker@example.com").await;
    let before = s.sms.count_to(m);
    let r = b.get(&back).await;
    assert_eq!(location(&r), format!("/t/{}/account/linked?done=linked", s.tenant));
    let notice = s.sms.nth(m, before).await;
    assert!(notice["text"].as_str().unwrap().contains("Parent Co account was linked"), "{notice}");
}

#[tokio::test]
async fn r9_a_recycled_number_taken_over_revokes_the_old_accounts_tokens() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138712";
    s.register_mobile(m).await;
    let old = app_tokens(&s, &s.browser(), "web", m, "openid").await;
    s.clock.advance(61);
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    let body = json!({ "by": "mobile", "mobile": m, "password": PASSWORD, "code": code, "take_over": true });
    let (st, body) = s.api("/api/register", body).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(token_state(&s, &old).await, (StatusCode::BAD_REQUEST, false, StatusCode::UNAUTHORIZED));
}

/// Posts the sign-in form (no authorization flow) from a fresh sign-in page of `b`.
async fn password_sign_in(s: &Server, b: &Browser, identifier: &str) -> reqwest::Response {
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    b.submit_login(&s.issuer(), &field(&html, "csrf"), "", identifier, PASSWORD).await
}

#[tokio::test]
async fn r9_notice_survives_a_denied_or_unfinished_sign_in() {
    use latchkey_core::Clock;
    use latchkey_core::credential::totp::code_at;
    let s = Server::start().await;
    let m = "+8613800138713";
    let old = s.register_mobile(m).await;
    // The old owner has an authenticator app and 2-step on.
    let b = signed_in(&s, m).await;
    let secret = crate::security::start_totp(&s, &b).await;
    let first = code_at(&secret, s.clock.now()).unwrap();
    let (st, _) = crate::security::post(&s, &b, "/totp/confirm", &[("code", &first)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _) = crate::security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    // The number is given to someone else: the old account keeps a notice.
    s.clock.advance(61);
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    let body = json!({ "by": "mobile", "mobile": m, "password": PASSWORD, "code": code, "take_over": true });
    let (st, body) = s.api("/api/register", body).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let verify = format!("/t/{}/login/verify", s.tenant);

    // (a) A sign-in that stops at its second step and is abandoned.
    let r = password_sign_in(&s, &s.browser(), &old).await;
    assert_eq!(location(&r), verify, "2-step is on: a second factor is asked for");
    // (b) A sign-in the tenant's plugin denies.
    let (st, _) = crate::plugins::install(&s, &s.tenant, "sign_in_gate", json!({ "deny_methods": ["pwd"] })).await;
    assert_eq!(st, StatusCode::CREATED);
    let r = password_sign_in(&s, &s.browser(), &old).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the plugin denies the password");
    let r = s
        .admin
        .put(s.url(&format!("/admin/tenants/{}/plugins/sign-in-gate/config", s.tenant)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // A sign-in that completes shows the notice.
    s.clock.advance(30);
    let b = s.browser();
    let r = password_sign_in(&s, &b, &old).await;
    assert_eq!(location(&r), verify);
    let html = b.get(&s.t("/login/verify?method=totp")).await.text().await.unwrap();
    let code = code_at(&secret, s.clock.now()).unwrap();
    let r =
        b.post(&s.t("/login/verify"), &[("csrf", &field(&html, "csrf")), ("method", "totp"), ("code", &code)]).await;
    assert_eq!(r.status(), StatusCode::OK, "a notice page first");
    let html = r.text().await.unwrap();
    assert!(html.contains("now belongs to someone else"), "{html}");
}
