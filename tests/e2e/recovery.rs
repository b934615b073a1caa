//! Recovery (R34 to R36) and SMS-code sign-in (R16).

use reqwest::StatusCode;
use serde_json::json;

use crate::kit::{PASSWORD, REDIRECT, Server, field, location, query};

#[tokio::test]
async fn r34_forgot_password_by_sms_code_resets_it_and_ends_sessions() {
    let s = Server::start().await;
    let m = "+8613800138201";
    s.register_mobile(m).await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    b.submit_login(&s.issuer(), &field(&html, "csrf"), "", m, PASSWORD).await;
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": m }))).await;
    let (st, body) = s.api("/api/recover", json!({ "identifier": m, "code": code, "new_password": "short" })).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input")),
        "policy applies; the code survives"
    );
    let (st, body) =
        s.api("/api/recover", json!({ "identifier": m, "code": code, "new_password": "brand new password" })).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let r = b.http.get(s.t("/api/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old session ended");
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    assert_eq!(
        b.submit_login(&s.issuer(), &field(&html, "csrf"), "", m, "brand new password").await.status(),
        StatusCode::FOUND
    );
    let (st, _) =
        s.api("/api/recover", json!({ "identifier": m, "code": code, "new_password": "another password" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "the code was single use");
}

#[tokio::test]
async fn r34_forgot_password_by_account_name_uses_the_security_phone() {
    let s = Server::start().await;
    let m = "+8613800138202";
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    s.api("/api/register", json!({ "by": "name", "name": "wangwu", "mobile": m, "password": PASSWORD, "code": code }))
        .await;
    s.clock.advance(61);
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": "wangwu" }))).await;
    let (st, _) = s
        .api("/api/recover", json!({ "identifier": "wangwu", "code": code, "new_password": "recovered by name" }))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn r36_recovery_answers_the_same_for_unknown_accounts_and_sends_nothing() {
    let s = Server::start().await;
    let m = "+8613800138203";
    s.register_mobile(m).await;
    let (st_known, known) = s.api("/api/codes", json!({ "purpose": "recover", "to": m })).await;
    let (st_unknown, unknown) = s.api("/api/codes", json!({ "purpose": "recover", "to": "+8613800138299" })).await;
    let (st_name, name) = s.api("/api/codes", json!({ "purpose": "recover", "to": "nobody-here" })).await;
    assert_eq!(st_known, StatusCode::OK);
    assert_eq!((st_known, &known), (st_unknown, &unknown));
    assert_eq!((st_known, &known), (st_name, &name));
    s.sms.nth(m, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.sms.count_to("+8613800138299"), 0);
    // Limits hold for unknown identifiers too (so they cannot be told apart by limits).
    let (st, body) = s.api("/api/codes", json!({ "purpose": "recover", "to": "+8613800138299" })).await;
    let (st2, body2) = s.api("/api/codes", json!({ "purpose": "recover", "to": m })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!((st2, body2["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    // A wrong finish says only "code invalid", for any identifier.
    let (_, a) =
        s.api("/api/recover", json!({ "identifier": m, "code": "123456", "new_password": "whatever pw 1" })).await;
    let (_, b) = s
        .api(
            "/api/recover",
            json!({ "identifier": "+8613800138299", "code": "123456", "new_password": "whatever pw 1" }),
        )
        .await;
    assert_eq!(a["error"], b["error"]);
}

#[tokio::test]
async fn r35_forgot_account_sends_the_names_bound_to_the_mobile() {
    let s = Server::start().await;
    let m = "+8613800138204";
    for name in ["alpha-dev", "beta-dev"] {
        let code =
            s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
        let (st, _) = s
            .api(
                "/api/register",
                json!({ "by": "name", "name": name, "mobile": m, "password": PASSWORD, "code": code }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        s.clock.advance(61);
    }
    let n = s.sms.count_to(m);
    let (st, _) = s.api("/api/recover/account-names", json!({ "mobile": m })).await;
    assert_eq!(st, StatusCode::OK);
    let text = s.sms.nth(m, n).await["text"].as_str().unwrap().to_string();
    assert!(text.contains("alpha-dev") && text.contains("beta-dev"), "{text}");
    let (st, _) = s.api("/api/recover/account-names", json!({ "mobile": "+8613800138298" })).await;
    assert_eq!(st, StatusCode::OK, "same answer for a number with no accounts");
}

#[tokio::test]
async fn r16_r18_sign_in_with_an_sms_code_returns_to_the_app() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138205";
    s.register_mobile(m).await;
    s.clock.advance(61);
    let b = s.browser();
    let url =
        format!("{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&state=st", s.t("/authorize"));
    let (_, flow, _) = b.open_login(&url).await;
    let html = b.get(&s.t(&format!("/login?flow={flow}&method=sms"))).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let n = s.sms.count_to(m);
    let r = b.post(&s.t("/login/code/send"), &[("csrf", csrf.as_str()), ("flow", flow.as_str()), ("mobile", m)]).await;
    assert!(r.text().await.unwrap().contains("a code is on its way"));
    let code = crate::peers::six_digits(s.sms.nth(m, n).await["text"].as_str().unwrap()).unwrap();
    let r = b
        .post(
            &s.t("/login/code"),
            &[("csrf", csrf.as_str()), ("flow", flow.as_str()), ("mobile", m), ("code", "000000")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = b
        .post(
            &s.t("/login/code"),
            &[("csrf", csrf.as_str()), ("flow", flow.as_str()), ("mobile", m), ("code", code.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = location(&b.get(&location(&r)).await);
    let (_, t) = s
        .token(
            "web",
            crate::kit::SECRET,
            &[("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    let claims: serde_json::Value = {
        use base64::Engine;
        let p = t["id_token"].as_str().unwrap().split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    assert_eq!(claims["amr"], json!(["sms"]));
    // An unregistered number gets the same page and no SMS.
    let r = b
        .post(
            &s.t("/login/code/send"),
            &[("csrf", csrf.as_str()), ("flow", flow.as_str()), ("mobile", "+8613800138297")],
        )
        .await;
    assert!(r.text().await.unwrap().contains("a code is on its way"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.sms.count_to("+8613800138297"), 0);
}

/// The token of the link in the latest mail to `to`.
pub async fn link_token(s: &Server, to: &str, n: usize) -> String {
    let body = s.mail.nth(to, n).await.decoded_body();
    let start = body.find("token=").unwrap_or_else(|| panic!("no link in {body}")) + "token=".len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test]
async fn r34_forgot_password_by_emailed_link() {
    let s = Server::start().await;
    let email = "linked@example.com";
    let code = s
        .mail_code(email, s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": email })))
        .await;
    s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    s.clock.advance(61);
    let n = s.mail.count_to(email);
    let (st, _) = s.api("/api/recover/link", json!({ "email": email })).await;
    assert_eq!(st, StatusCode::OK);
    let mail = s.mail.nth(email, n).await;
    assert!(mail.decoded_body().contains(&format!("{}/recover/link?token=", s.issuer())), "{}", mail.decoded_body());
    let token = link_token(&s, email, n).await;
    let (st, body) =
        s.api("/api/recover/link/finish", json!({ "token": token, "new_password": "reset by link" })).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (st, body) = s.api("/api/recover/link/finish", json!({ "token": token, "new_password": "reset again!" })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("code_invalid")), "single use");
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    assert_eq!(
        b.submit_login(&s.issuer(), &field(&html, "csrf"), "", email, "reset by link").await.status(),
        StatusCode::FOUND
    );
    // Unknown address: same answer, no mail.
    let (st2, _) = s.api("/api/recover/link", json!({ "email": "ghost@example.com" })).await;
    assert_eq!(st2, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.mail.count_to("ghost@example.com"), 0);
}

#[tokio::test]
async fn r35_forgot_account_by_id_and_the_full_security_mobile() {
    let s = Server::start().await;
    let m = "+8613800138206";
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": m }))).await;
    let (_, body) = s
        .api(
            "/api/register",
            json!({ "by": "name", "name": "zhaoliu", "mobile": m, "password": PASSWORD, "code": code }),
        )
        .await;
    let id = body["account_id"].as_str().unwrap().to_string();
    s.clock.advance(61);
    let wrong = s.api("/api/recover/account-by-id", json!({ "account_id": id, "mobile": "+8613800138296" })).await;
    let n = s.sms.count_to(m);
    let right = s.api("/api/recover/account-by-id", json!({ "account_id": id, "mobile": m })).await;
    assert_eq!(wrong, right, "the same answer whether the mobile matches or not");
    assert!(s.sms.nth(m, n).await["text"].as_str().unwrap().contains("zhaoliu"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(s.sms.count_to("+8613800138296"), 0);
}
