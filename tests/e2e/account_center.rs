//! The account center's JSON API: view (R22, R26), password (R23, R27), email and
//! mobile (R24, R25), devices (R29), notices (R38), bearer tokens with the account scope.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, REDIRECT, SECRET, Server, location, query};

/// A browser signed in (no authorization flow) as `identifier`.
async fn signed_in(s: &Server, identifier: &str, password: &str) -> Browser {
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &crate::kit::field(&html, "csrf"), "", identifier, password).await;
    assert!(r.status().is_redirection() || r.status() == StatusCode::OK, "{}", r.status());
    b
}

impl Browser {
    pub async fn api_get(&self, s: &Server, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(s.t(path)).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
    pub async fn api_post(&self, s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.http.post(s.t(path)).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn r22_r26_account_view_shows_masked_channels_and_their_roles() {
    let s = Server::start().await;
    let id = s.register_mobile("+8613800138101").await;
    let b = signed_in(&s, "+8613800138101", PASSWORD).await;
    let (st, v) = b.api_get(&s, "/api/account").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["id"], id);
    assert_eq!(v["mobile"], "+86138****8101");
    assert_eq!(v["channels"][0]["roles"], json!({ "login": true, "recovery": true, "contact": true }));
    assert!(!v.to_string().contains("13800138101"), "the number is never shown in full");
    assert_eq!(s.browser().api_get(&s, "/api/account").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn r23_r38_password_change_ends_other_sessions_applies_history_and_notifies() {
    let s = Server::start().await;
    let m = "+8613800138102";
    s.register_mobile(m).await;
    let here = signed_in(&s, m, PASSWORD).await;
    let there = signed_in(&s, m, PASSWORD).await;
    assert_eq!(there.api_get(&s, "/api/account").await.0, StatusCode::OK);
    let (st, body) = here
        .api_post(
            &s,
            "/api/account/password",
            json!({ "current_password": "wrong password", "new_password": "a new password" }),
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));
    let (st, body) = here
        .api_post(&s, "/api/account/password", json!({ "current_password": PASSWORD, "new_password": PASSWORD }))
        .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input")),
        "history: not the current password"
    );
    let before = s.sms.count_to(m);
    let (st, _) = here
        .api_post(
            &s,
            "/api/account/password",
            json!({ "current_password": PASSWORD, "new_password": "a new password" }),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(s.sms.nth(m, before).await["text"].as_str().unwrap().contains("password was changed"), "R38 notice");
    assert_eq!(here.api_get(&s, "/api/account").await.0, StatusCode::OK, "this session stays");
    assert_eq!(there.api_get(&s, "/api/account").await.0, StatusCode::UNAUTHORIZED, "other sessions end");
    signed_in(&s, m, "a new password").await.api_get(&s, "/api/account").await.0.is_success().then_some(()).unwrap();
    // Back to the old one: refused by the history rule (last 3).
    let (st, _) = here
        .api_post(
            &s,
            "/api/account/password",
            json!({ "current_password": "a new password", "new_password": PASSWORD }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn r27_password_change_with_a_code_instead_of_the_password() {
    let s = Server::start().await;
    let m = "+8613800138103";
    s.register_mobile(m).await;
    let b = signed_in(&s, m, PASSWORD).await;
    let (_, v) = b.api_get(&s, "/api/account").await;
    let methods: Vec<&str> =
        v["identity_methods"].as_array().unwrap().iter().map(|x| x["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["password", "mobile"]);
    assert_eq!(v["identity_methods"][1]["masked"], "+86138****8103");
    let channel = v["identity_methods"][1]["channel"].as_u64().unwrap();
    let code = s.sms_code(m, b.api_post(&s, "/api/account/identity-code", json!({ "channel": channel }))).await;
    let (st, body) = b
        .api_post(
            &s,
            "/api/account/password",
            json!({ "channel": channel, "code": code, "new_password": "changed by code" }),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (st, _) = b.api_post(&s, "/api/account/identity-code", json!({ "channel": 7 })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "codes go only to the account's own channels");
}

#[tokio::test]
async fn r24_change_email_in_two_steps_and_r25_add_a_mobile() {
    let s = Server::start().await;
    let old = "old@example.com";
    let code =
        s.mail_code(old, s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": old }))).await;
    s.api("/api/register", json!({ "by": "email", "email": old, "password": PASSWORD, "code": code })).await;
    s.clock.advance(61);
    let b = signed_in(&s, old, PASSWORD).await;
    let new = "new@example.com";
    let current =
        s.mail_code(old, b.api_post(&s, "/api/account/channels/email/code", json!({ "target": "current" }))).await;
    let fresh = s
        .mail_code(new, b.api_post(&s, "/api/account/channels/email/code", json!({ "target": "new", "value": new })))
        .await;
    let (st, body) = b.api_post(&s, "/api/account/channels/email", json!({ "value": new, "code": fresh })).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input")),
        "the current email's code is required"
    );
    let wrong = if fresh == "000000" { "111111" } else { "000000" };
    let (st, body) = b
        .api_post(&s, "/api/account/channels/email", json!({ "current_code": current, "value": new, "code": wrong }))
        .await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("code_invalid")));
    let (st, v) = b
        .api_post(&s, "/api/account/channels/email", json!({ "current_code": current, "value": new, "code": fresh }))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "n***@example.com");
    assert!(s.mail.nth(old, 2).await.decoded_body().contains("n***@example.com"), "the old address is told (R38)");
    assert_eq!(signed_in(&s, new, PASSWORD).await.api_get(&s, "/api/account").await.0, StatusCode::OK);
    let br = s.browser();
    let html = br.get(&s.t("/login")).await.text().await.unwrap();
    let r = br.submit_login(&s.issuer(), &crate::kit::field(&html, "csrf"), "", old, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old email no longer signs in");
    // R25: no mobile yet, so the new number's code and a proof of identity (issue 10).
    let m = "+8613800138104";
    let code = s
        .sms_code(m, b.api_post(&s, "/api/account/channels/mobile/code", json!({ "target": "new", "value": m })))
        .await;
    let body = json!({ "value": m, "code": code, "current_password": PASSWORD });
    let (st, v) = b.api_post(&s, "/api/account/channels/mobile", body).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["mobile"], "+86138****8104");
}

#[tokio::test]
async fn r29_devices_are_listed_and_signed_out_one_or_all() {
    let s = Server::start().await;
    let m = "+8613800138105";
    s.register_mobile(m).await;
    let a = signed_in(&s, m, PASSWORD).await;
    let b = signed_in(&s, m, PASSWORD).await;
    let c = signed_in(&s, m, PASSWORD).await;
    let (_, list) = a.api_get(&s, "/api/account/sessions").await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    assert!(list.iter().all(|x| x["ip"] == "127.0.0.1"));
    let (_, mine) = b.api_get(&s, "/api/account/sessions").await;
    let b_sid =
        mine.as_array().unwrap().iter().find(|x| x["current"] == true).unwrap()["sid"].as_str().unwrap().to_string();
    let r = a.http.delete(s.t(&format!("/api/account/sessions/{b_sid}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(b.api_get(&s, "/api/account").await.0, StatusCode::UNAUTHORIZED);
    let r = a.http.delete(s.t("/api/account/sessions")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["ended"], 1);
    assert_eq!(c.api_get(&s, "/api/account").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(a.api_get(&s, "/api/account").await.0, StatusCode::OK);
}

#[tokio::test]
async fn r38_new_device_sign_in_is_notified_but_not_the_first_one() {
    let s = Server::start().await;
    let m = "+8613800138106";
    s.register_mobile(m).await;
    let first = signed_in(&s, m, PASSWORD).await;
    let n = s.sms.count_to(m);
    // Same browser again: known device, no notice.
    let html = first.get(&s.t("/login")).await.text().await.unwrap();
    first.submit_login(&s.issuer(), &crate::kit::field(&html, "csrf"), "", m, PASSWORD).await;
    signed_in(&s, m, PASSWORD).await;
    let notice = s.sms.nth(m, n).await;
    assert!(notice["text"].as_str().unwrap().contains("new device"), "{notice}");
    assert_eq!(s.sms.count_to(m), n + 1, "exactly one notice, for the second browser");
}

#[tokio::test]
async fn r4_an_old_password_prompts_a_change_at_sign_in() {
    let s = Server::start().await;
    s.settings(json!({ "password": { "max_age_days": 90 } })).await;
    let m = "+8613800138107";
    s.register_mobile(m).await;
    s.clock.advance(91 * 24 * 3600);
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &crate::kit::field(&html, "csrf"), "", m, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("not been changed for a long time") && page.contains("Change password"), "{page}");
    assert!(page.contains("Continue"), "a prompt, not a force");
}

#[tokio::test]
async fn account_api_accepts_bearer_tokens_with_the_account_scope_only() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138108";
    let id = s.register_mobile(m).await;
    let b = s.browser();
    let get_token = |scope: &'static str| {
        let (b, s) = (&b, &s);
        async move {
            let url =
                format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope={scope}", s.t("/authorize"));
            let back = match b.get(&url).await {
                r if location(&r).contains("/login") => b.authorize_with_login(&s.issuer(), &url, m).await,
                r => location(&r),
            };
            let (_, t) = s
                .token(
                    "web",
                    SECRET,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &query(&back)["code"]),
                        ("redirect_uri", REDIRECT),
                    ],
                )
                .await;
            t["access_token"].as_str().unwrap().to_string()
        }
    };
    let with = get_token("openid%20account").await;
    let r = crate::kit::no_redirects().get(s.t("/api/account")).bearer_auth(&with).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], id);
    let without = get_token("openid").await;
    let r = crate::kit::no_redirects().get(s.t("/api/account")).bearer_auth(&without).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn r5_security_email_by_a_link_valid_two_hours() {
    let s = Server::start().await;
    let m = "+8613800138109";
    s.register_mobile(m).await;
    let b = signed_in(&s, m, PASSWORD).await;
    let email = "security@example.com";
    let (st, sent) =
        b.api_post(&s, "/api/account/email-link", json!({ "email": email, "current_password": PASSWORD })).await;
    assert_eq!(st, StatusCode::OK, "{sent}");
    assert_eq!(sent["expires_in"], 7200);
    let token = crate::recovery::link_token(&s, email, 0).await;
    s.clock.advance(2 * 3600 + 1);
    let (st, body) = s.api("/api/account/email-link/confirm", json!({ "token": token })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("code_expired")));
    let (st, _) =
        b.api_post(&s, "/api/account/email-link", json!({ "email": email, "current_password": PASSWORD })).await;
    assert_eq!(st, StatusCode::OK);
    let token = crate::recovery::link_token(&s, email, 1).await;
    let (st, v) = s.api("/api/account/email-link/confirm", json!({ "token": token })).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["email"], "s***@example.com");
    assert_eq!(signed_in(&s, email, PASSWORD).await.api_get(&s, "/api/account").await.0, StatusCode::OK);
    let (st, _) = b
        .api_post(&s, "/api/account/email-link", json!({ "email": "second@example.com", "current_password": PASSWORD }))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "an account with an email changes it with codes");
}
