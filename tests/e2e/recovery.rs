//! Recovery (R34 to R36), the CAPTCHA every recovery request carries (R19), and
//! SMS-code sign-in (R16).

use latchkey_core::Clock;
use reqwest::StatusCode;
use serde_json::json;

use crate::kit::{PASSWORD, REDIRECT, Server, field, location, query, solve_captcha_in};

#[tokio::test]
async fn r34_forgot_password_by_sms_code_resets_it_and_ends_sessions() {
    let s = Server::start().await;
    let m = "+8613800138201";
    s.register_mobile(m).await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    b.submit_login(&s.issuer(), &field(&html, "csrf"), "", m, PASSWORD).await;
    let captcha = s.captcha().await;
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": captcha }))).await;
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
    let captcha = s.captcha().await;
    let code =
        s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": "wangwu", "captcha": captcha }))).await;
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
    let recover = |to: &'static str, captcha: String| {
        s.api("/api/codes", json!({ "purpose": "recover", "to": to, "captcha": captcha }))
    };
    let (st_known, known) = recover(m, s.captcha().await).await;
    let (st_unknown, unknown) = recover("+8613800138299", s.captcha().await).await;
    let (st_name, name) = recover("nobody-here", s.captcha().await).await;
    assert_eq!(st_known, StatusCode::OK);
    assert_eq!((st_known, &known), (st_unknown, &unknown));
    assert_eq!((st_known, &known), (st_name, &name));
    s.sms.nth(m, 1).await;
    s.deliveries_settled().await;
    assert_eq!(s.sms.count_to("+8613800138299"), 0);
    // Limits hold for unknown identifiers too (so they cannot be told apart by limits).
    let (st, body) = recover("+8613800138299", s.captcha().await).await;
    let (st2, body2) = recover(m, s.captcha().await).await;
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
    let (st, _) = s.api("/api/recover/account-names", json!({ "mobile": m, "captcha": s.captcha().await })).await;
    assert_eq!(st, StatusCode::OK);
    let text = s.sms.nth(m, n).await["text"].as_str().unwrap().to_string();
    assert!(text.contains("alpha-dev") && text.contains("beta-dev"), "{text}");
    let (st, _) =
        s.api("/api/recover/account-names", json!({ "mobile": "+8613800138298", "captcha": s.captcha().await })).await;
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
    // An unregistered number gets the same page and no SMS (signed in now, the form
    // carries the session's CSRF token).
    let html = b.get(&s.t(&format!("/login?flow={flow}&method=sms"))).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let r = b
        .post(
            &s.t("/login/code/send"),
            &[("csrf", csrf.as_str()), ("flow", flow.as_str()), ("mobile", "+8613800138297")],
        )
        .await;
    assert!(r.text().await.unwrap().contains("a code is on its way"));
    s.deliveries_settled().await;
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
    let (st, _) = s.api("/api/recover/link", json!({ "email": email, "captcha": s.captcha().await })).await;
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
    let (st2, _) =
        s.api("/api/recover/link", json!({ "email": "ghost@example.com", "captcha": s.captcha().await })).await;
    assert_eq!(st2, StatusCode::OK);
    s.deliveries_settled().await;
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
    let by_id = |mobile: &'static str, captcha: String| {
        s.api("/api/recover/account-by-id", json!({ "account_id": id, "mobile": mobile, "captcha": captcha }))
    };
    let wrong = by_id("+8613800138296", s.captcha().await).await;
    let n = s.sms.count_to(m);
    let right = by_id(m, s.captcha().await).await;
    assert_eq!(wrong, right, "the same answer whether the mobile matches or not");
    assert!(s.sms.nth(m, n).await["text"].as_str().unwrap().contains("zhaoliu"));
    s.deliveries_settled().await;
    assert_eq!(s.sms.count_to("+8613800138296"), 0);
}

/// A challenge from `POST /api/captcha`, as JSON.
async fn challenge(s: &Server) -> serde_json::Value {
    let (st, c) = s.api("/api/captcha", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

#[tokio::test]
async fn r19_forgot_password_pages_carry_a_challenge_and_refuse_a_missing_or_wrong_answer() {
    let s = Server::start().await;
    let m = "+8613800138211";
    let email = "r19.page@example.com";
    s.register_mobile(m).await;
    let b = s.browser();
    let html = b.get(&s.t("/recover")).await.text().await.unwrap();
    // Both ways to start (a code, a link) carry their own challenge.
    assert_eq!(html.matches("data-salt=").count(), 2, "{html}");
    let (code_answer, link_answer) =
        (solve_captcha_in(&html, "/recover/code"), solve_captcha_in(&html, "/recover/link/send"));
    assert_ne!(code_answer.split(':').next(), link_answer.split(':').next(), "two challenges, not one");
    let csrf = field(&html, "csrf");

    // No answer: the localized error, a fresh challenge, nothing sent.
    let r = b.post(&s.t("/recover/code"), &[("csrf", &csrf), ("identifier", m)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("Please complete the check below and try again."), "{html}");
    let fresh = solve_captcha_in(&html, "/recover/code");
    assert_ne!(fresh.split(':').next(), code_answer.split(':').next(), "a new challenge on every render");
    // A wrong answer (a nonce below the smallest right one) fails, in the asked-for language.
    let (id, nonce) = fresh.split_once(':').unwrap();
    let wrong = match nonce.parse::<u64>().unwrap() {
        0 => format!("{id}:x"),
        n => format!("{id}:{}", n - 1),
    };
    let r = b
        .http
        .post(s.t("/recover/code"))
        .header("accept-language", "zh-CN")
        .form(&[("csrf", csrf.as_str()), ("identifier", m), ("captcha", wrong.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let zh = r.text().await.unwrap();
    assert!(zh.contains("验证失败或已过期，请重试。") && zh.contains("data-salt="), "{zh}");
    // The link form without an answer: its own error, no mail.
    let r = b.post(&s.t("/recover/link/send"), &[("csrf", &csrf), ("email", email)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("Please complete the check below and try again."));
    // The forgot-account page carries one too and refuses without it.
    let html = b.get(&s.t("/recover/account")).await.text().await.unwrap();
    assert_eq!(html.matches("data-salt=").count(), 1, "{html}");
    let r = b.post(&s.t("/recover/account"), &[("csrf", &csrf), ("mobile", m)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    s.deliveries_settled().await;
    assert_eq!((s.sms.count_to(m), s.mail.count_to(email)), (1, 0), "only the registration code was sent");

    // A solved answer from the page sends the code; the code page's "send again"
    // carries a new challenge.
    let html = b.get(&s.t("/recover")).await.text().await.unwrap();
    let answer = solve_captcha_in(&html, "/recover/code");
    let html = b.post(&s.t("/recover/code"), &[("csrf", &csrf), ("identifier", m), ("captcha", &answer)]).await;
    let html = html.text().await.unwrap();
    assert!(html.contains("If an account uses this, a code was sent"), "{html}");
    assert!(crate::peers::six_digits(s.sms.nth(m, 1).await["text"].as_str().unwrap()).is_some());
    assert_ne!(solve_captcha_in(&html, "/recover/code"), answer);
}

#[tokio::test]
async fn r19_recovery_api_without_an_answer_is_refused_and_sends_nothing() {
    let s = Server::start().await;
    let m = "+8613800138212";
    let email = "r19.api@example.com";
    let id = s.register_mobile(m).await;
    s.add_user(email).await;
    let (n_sms, n_mail) = (s.sms.count_to(m), s.mail.count_to(email));
    let unknown = "+8613800138292";
    let requests = [
        ("/api/codes", json!({ "purpose": "recover", "to": m })),
        ("/api/codes", json!({ "purpose": "recover", "to": unknown })),
        ("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": "" })),
        ("/api/recover/link", json!({ "email": email })),
        ("/api/recover/link", json!({ "email": "nobody.r19@example.com" })),
        ("/api/recover/account-names", json!({ "mobile": m })),
        ("/api/recover/account-by-id", json!({ "account_id": id, "mobile": m })),
    ];
    for (path, body) in requests {
        let (st, answer) = s.api(path, body.clone()).await;
        assert_eq!(
            (st, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("captcha_required")),
            "{path} {body}"
        );
    }
    s.deliveries_settled().await;
    assert_eq!(s.sms.count_to(m), n_sms, "no SMS");
    assert_eq!(s.sms.count_to(unknown), 0);
    assert_eq!(s.mail.count_to(email), n_mail, "no mail");
    // The refusals counted against no limit: a solved request goes through at once.
    let (st, body) = s.api("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": s.captcha().await })).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn r19_recovery_api_refuses_a_wrong_reused_or_expired_answer() {
    let s = Server::start().await;
    let m = "+8613800138213";
    s.register_mobile(m).await;
    let n = s.sms.count_to(m);
    let send = |captcha: String| s.api("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": captcha }));
    let failed = |r: (StatusCode, serde_json::Value)| (r.0, r.1["error"].as_str().map(str::to_string));
    let refused = (StatusCode::BAD_REQUEST, Some("captcha_failed".to_string()));

    // Wrong: a nonce below the smallest right one (or not a number at all).
    let c = challenge(&s).await;
    let right = latchkey_core::captcha::solve(c["salt"].as_str().unwrap(), c["difficulty"].as_u64().unwrap() as u8);
    let nonce = if right > 0 { (right - 1).to_string() } else { "x".to_string() };
    assert_eq!(failed(send(format!("{}:{nonce}", c["id"].as_str().unwrap())).await), refused);
    // Made up.
    assert_eq!(failed(send("AAAAAAAAAAAAAAAA:1".to_string()).await), refused);
    // Reused: the first use sends a code, the second is refused.
    let answer = s.captcha().await;
    assert_eq!(send(answer.clone()).await.0, StatusCode::OK);
    s.clock.advance(61);
    assert_eq!(failed(send(answer).await), refused);
    // Expired: five minutes after it was issued.
    let answer = s.captcha().await;
    s.clock.advance(latchkey_core::captcha::TTL + 1);
    assert_eq!(failed(send(answer).await), refused);
    // The link and forgot-account endpoints check the same way.
    let answer = s.captcha().await;
    assert_eq!(
        s.api("/api/recover/account-names", json!({ "mobile": m, "captcha": answer.clone() })).await.0,
        StatusCode::OK
    );
    let r = s.api("/api/recover/link", json!({ "email": "someone@example.com", "captcha": answer })).await;
    assert_eq!(failed(r), refused);
    s.deliveries_settled().await;
    assert_eq!(s.sms.count_to(m), n + 2, "one code and the account names, nothing for refused answers");
}

#[tokio::test]
async fn r19_recovery_api_with_a_solved_challenge_sends_the_code() {
    let s = Server::start().await;
    let m = "+8613800138214";
    s.register_mobile(m).await;
    // A challenge at the tenant's difficulty, live for five minutes.
    let c = challenge(&s).await;
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["difficulty", "expires_at", "id", "salt"], "{c}");
    assert_eq!(c["difficulty"], 16);
    assert_eq!(c["expires_at"].as_u64().unwrap(), s.clock.now() + latchkey_core::captcha::TTL);
    s.settings(json!({ "sign_in": { "captcha_difficulty": 10 } })).await;
    assert_eq!(challenge(&s).await["difficulty"], 10);
    let answer = format!(
        "{}:{}",
        c["id"].as_str().unwrap(),
        latchkey_core::captcha::solve(c["salt"].as_str().unwrap(), c["difficulty"].as_u64().unwrap() as u8)
    );
    let code = s.sms_code(m, s.api("/api/codes", json!({ "purpose": "recover", "to": m, "captcha": answer }))).await;
    let (st, body) =
        s.api("/api/recover", json!({ "identifier": m, "code": code, "new_password": "reset after the check" })).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
}
