//! Registration through the public account API (R1 to R10) and the code rules (R37).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{PASSWORD, REDIRECT, Server, location, query};

async fn client(s: &Server) {
    s.add_client("web", json!({})).await;
}

fn authorize(s: &Server) -> String {
    format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&state=st", s.t("/authorize"))
}

/// Signs in through the page with `identifier` and PASSWORD; returns the final redirect.
async fn signs_in(s: &Server, identifier: &str) -> bool {
    let b = s.browser();
    let (csrf, flow, _) = b.open_login(&authorize(s)).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, identifier, PASSWORD).await;
    if r.status() != StatusCode::FOUND {
        return false;
    }
    let r = b.get(&location(&r)).await;
    query(&location(&r)).contains_key("code")
}

#[tokio::test]
async fn r1_register_with_mobile_password_and_sms_code_then_sign_in() {
    let s = Server::start().await;
    client(&s).await;
    let id = s.register_mobile("+8613800138001").await;
    assert_eq!(id.len(), 16);
    assert!(signs_in(&s, "+8613800138001").await);
    assert!(signs_in(&s, &id).await, "the account id signs in too");
    let users: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/users", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert_eq!(users[0]["phone_verified"], true);
}

#[tokio::test]
async fn r2_register_with_email_and_emailed_code() {
    let s = Server::start().await;
    client(&s).await;
    let email = "new.user@example.com";
    let code = s
        .mail_code(
            email,
            s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": "New.User@Example.com" })),
        )
        .await;
    let (st, body) =
        s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert!(signs_in(&s, email).await);
    // The same email again is taken.
    let code = s
        .mail_code(email, async {
            s.clock.advance(61);
            s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": email })).await
        })
        .await;
    let (st, body) =
        s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::CONFLICT, Some("identifier_taken")));
}

async fn register_name(s: &Server, name: &str, mobile: &str) -> (StatusCode, Value) {
    let code =
        s.sms_code(mobile, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": mobile }))).await;
    s.clock.advance(61);
    s.api("/api/register", json!({ "by": "name", "name": name, "mobile": mobile, "password": PASSWORD, "code": code }))
        .await
}

#[tokio::test]
async fn r3_r6_account_name_registration_with_a_security_phone() {
    let s = Server::start().await;
    client(&s).await;
    let (st, a) = register_name(&s, "张三_dev", "+8613800138002").await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert!(signs_in(&s, "张三_dev").await);
    assert!(signs_in(&s, "+8613800138002").await, "a free number also signs in");
    // A second account with the same security phone: the number now belongs to two
    // accounts, so it no longer signs either in (R6) and the page says why.
    let (st, b) = register_name(&s, "lisi-dev", "+8613800138002").await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert!(signs_in(&s, "lisi-dev").await);
    let br = s.browser();
    let (csrf, flow, _) = br.open_login(&authorize(&s)).await;
    let r = br.submit_login(&s.issuer(), &csrf, &flow, "+8613800138002", PASSWORD).await;
    assert!(r.text().await.unwrap().contains("linked to several accounts"));
    // The default account-name rule (R3).
    for bad in ["abc", "123456", "has space", "toolong-toolong-toolong"] {
        let (st, body) = s.api("/api/register", json!({ "by": "name", "name": bad, "mobile": "+8613800138009", "password": PASSWORD, "code": "000000" })).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{bad}");
    }
}

#[tokio::test]
async fn r4_password_policy_is_the_tenants_and_a_refusal_keeps_the_code() {
    let s = Server::start().await;
    s.settings(json!({ "password": { "min_length": 7, "max_length": 20, "min_classes": 2 } })).await;
    let mobile = "+8613800138003";
    let code =
        s.sms_code(mobile, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": mobile }))).await;
    for weak in ["abcdefgh", "short1", "a1a1a1a1a1a1a1a1a1a1a"] {
        let (st, body) =
            s.api("/api/register", json!({ "by": "mobile", "mobile": mobile, "password": weak, "code": code })).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{weak}: {body}");
    }
    let (st, body) =
        s.api("/api/register", json!({ "by": "mobile", "mobile": mobile, "password": "abc123x", "code": code })).await;
    assert_eq!(st, StatusCode::CREATED, "the code still works: {body}");
}

#[tokio::test]
async fn r8_cap_on_accounts_per_mobile() {
    let s = Server::start().await;
    s.settings(json!({ "registration": { "max_accounts_per_mobile": 2 } })).await;
    let m = "+8613800138004";
    assert_eq!(register_name(&s, "first-one", m).await.0, StatusCode::CREATED);
    assert_eq!(register_name(&s, "second-one", m).await.0, StatusCode::CREATED);
    let (st, body) = register_name(&s, "third-one", m).await;
    assert_eq!(
        (st, body["error"].as_str(), body["reason"].as_str()),
        (StatusCode::FORBIDDEN, Some("policy_denied"), Some("too_many_accounts_for_mobile"))
    );
    let users: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/users", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert_eq!(users.len(), 2, "nothing was created");
}

#[tokio::test]
async fn r9_recycled_number_moves_to_its_new_owner_and_the_old_account_is_told() {
    let s = Server::start().await;
    client(&s).await;
    let m = "+8613800138005";
    let old = s.register_mobile(m).await;
    s.clock.advance(61);
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    let (st, body) =
        s.api("/api/register", json!({ "by": "mobile", "mobile": m, "password": PASSWORD, "code": code })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::CONFLICT, Some("identifier_taken")), "{body}");
    let (st, body) = s
        .api(
            "/api/register",
            json!({ "by": "mobile", "mobile": m, "password": PASSWORD, "code": code, "take_over": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let new = body["account_id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // The number signs in the new account.
    let b = s.browser();
    let (csrf, flow, _) = b.open_login(&authorize(&s)).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, m, PASSWORD).await;
    let back = location(&b.get(&location(&r)).await);
    let (_, t) = s
        .token(
            "web",
            crate::kit::SECRET,
            &[("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    assert!(t["access_token"].as_str().is_some());
    // The old account signs in with its id and is told, once.
    let b = s.browser();
    let (csrf, flow, _) = b.open_login(&authorize(&s)).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, &old, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK, "a notice page first");
    let html = r.text().await.unwrap();
    assert!(html.contains("now belongs to someone else"), "{html}");
    // Signed in now: the sign-in form carries the session's CSRF token.
    let html = b.get(&s.t(&format!("/login?flow={flow}"))).await.text().await.unwrap();
    let csrf = crate::kit::field(&html, "csrf");
    let r = b.submit_login(&s.issuer(), &csrf, &flow, &old, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND, "told only once");
}

#[tokio::test]
async fn r10_number_ranges_are_tenant_rules() {
    let s = Server::start().await;
    s.settings(json!({ "registration": { "allowed_mobile_prefixes": ["+86"], "denied_mobile_prefixes": ["+86141"] } }))
        .await;
    for m in ["+14155550100", "+8614100001111"] {
        let (st, body) = s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m })).await;
        assert_eq!((st, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("mobile_range_not_allowed")), "{m}");
        assert_eq!(s.sms.count_to(m), 0, "no SMS sent");
    }
    s.register_mobile("+8613800138006").await;
}

#[tokio::test]
async fn r37_registration_codes_limits_and_expiry() {
    let s = Server::start().await;
    let m = "+8613800138007";
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    // Cooldown: retry_after says when.
    let (st, body) = s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(body["retry_after"].as_u64().is_some_and(|r| r > 0 && r <= 60));
    // Five wrong codes, then even the right one fails.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let reg = |c: &str| json!({ "by": "mobile", "mobile": m, "password": PASSWORD, "code": c });
    for _ in 0..5 {
        assert_eq!(s.api("/api/register", reg(wrong)).await.1["error"], "code_invalid");
    }
    assert_eq!(s.api("/api/register", reg(&code)).await.1["error"], "code_attempts_exceeded");
    // An expired code fails.
    s.clock.advance(61);
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "voice", "to": m }))).await;
    assert_eq!(s.sms.nth(m, 1).await["channel"], "voice");
    s.clock.advance(601);
    assert_eq!(s.api("/api/register", reg(&code)).await.1["error"], "code_expired");
}

#[tokio::test]
async fn p10_bad_registration_input_is_a_4xx_and_changes_nothing() {
    let s = Server::start().await;
    let cases = [
        json!({ "purpose": "register", "channel": "sms", "to": "12345" }),
        json!({ "purpose": "register", "channel": "fax", "to": "+8613800138008" }),
        json!({ "purpose": "register", "channel": "email", "to": "not-an-email" }),
        json!({ "purpose": "register", "channel": "email", "to": format!("{}@example.com", "a".repeat(300)) }),
        json!({ "purpose": "register", "to": "+8613800138008" }),
        json!({ "purpose": "sign_in", "to": "+86 not a number" }),
        json!({ "channel": "sms", "to": "+8613800138008" }),
    ];
    for c in cases {
        let (st, body) = s.api("/api/codes", c.clone()).await;
        assert!(st.is_client_error(), "{c}: {st}");
        assert!(body["error"].is_string(), "{c}: {body}");
    }
    for purpose in ["unlock_door", "verify_new_channel"] {
        let (st, body) =
            s.api("/api/codes", json!({ "purpose": purpose, "channel": "sms", "to": "+8613800138008" })).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_purpose")), "{purpose}");
    }
    let (st, body) = s.api("/api/register", json!({ "by": "pigeon", "password": PASSWORD, "code": "123456" })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert_eq!(s.sms.accepted().len() + s.mail.mails().len(), 0);
    let users: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/users", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert!(users.is_empty());
}
