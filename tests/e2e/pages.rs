//! The account pages as a browser without JavaScript uses them: registration (R1 to
//! R3, R5, R9, R10), recovery (R34 to R36) and the account center (R22 to R25, R27,
//! R29), in English and Simplified Chinese, each form guarded by its CSRF token.

use reqwest::StatusCode;
use serde_json::json;

use crate::kit::{Browser, PASSWORD, REDIRECT, SECRET, Server, field, location, query, solve_captcha_in};

const MOBILE: &str = "+8613800138000";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The body of `r`, after checking its status.
async fn body(r: reqwest::Response, status: StatusCode) -> String {
    let got = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    text
}

/// A path of the test tenant.
fn tp(s: &Server, path: &str) -> String {
    format!("/t/{}{path}", s.tenant)
}

fn authorize_url(s: &Server) -> String {
    format!("{}?response_type=code&client_id=console&redirect_uri={REDIRECT}&scope=openid&state=st", s.t("/authorize"))
}

/// The `next` parameter of a (relative) location.
fn next_of(s: &Server, location: &str) -> String {
    query(&format!("{}{location}", s.base))["next"].clone()
}

/// Sends a registration code from the registration page (its form, posted to
/// `/register/code` by the send-code button) and returns the code the SMS gateway got.
async fn send_register_sms(s: &Server, b: &Browser, form: &[(&str, &str)], mobile: &str) -> String {
    let n = s.sms.count_to(mobile);
    let html = body(b.post(&tp(s, "/register/code"), form).await, StatusCode::OK).await;
    assert!(html.contains("A code is on its way."), "{html}");
    let sms = s.sms.nth(mobile, n).await;
    crate::peers::six_digits(sms["text"].as_str().unwrap()).unwrap()
}

/// Registers by mobile through the page (no authorization flow) with `password`;
/// returns where the page sends the new account holder (the security-email step).
async fn register_by_mobile(s: &Server, b: &Browser, mobile: &str, password: &str) -> String {
    let html = body(b.get(&tp(s, "/register")).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let base = [("csrf", csrf.as_str()), ("flow", ""), ("by", "mobile"), ("mobile", mobile)];
    let code = send_register_sms(s, b, &[&base[..], &[("channel", "sms")]].concat(), mobile).await;
    let form = [&base[..], &[("code", code.as_str()), ("password", password), ("password2", password)]].concat();
    let r = b.post(&tp(s, "/register"), &form).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    // Past the resend cooldown, so the test can ask for the next code at once.
    s.clock.advance(61);
    location(&r)
}

/// Signs in on the sign-in page without an authorization flow.
async fn sign_in(s: &Server, b: &Browser, identifier: &str, password: &str) -> reqwest::Response {
    let html = body(b.get(&tp(s, "/login")).await, StatusCode::OK).await;
    b.submit_login(&s.issuer(), &field(&html, "csrf"), "", identifier, password).await
}

#[tokio::test]
async fn r1_register_page_by_mobile_signs_in_and_returns_to_the_app() {
    let s = Server::start().await;
    s.add_client("console", json!({})).await;
    let b = s.browser();
    let (_, flow, login) = b.open_login(&authorize_url(&s)).await;
    assert!(login.contains(&format!("/register?flow={flow}")), "the sign-in page links to registration");

    let html = body(b.get(&format!("{}?flow={flow}&by=mobile", tp(&s, "/register"))).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    assert_eq!(field(&html, "flow"), flow);
    let base = [("csrf", csrf.as_str()), ("flow", flow.as_str()), ("by", "mobile"), ("mobile", MOBILE)];
    let n = s.sms.count_to(MOBILE);
    let html =
        body(b.post(&tp(&s, "/register/code"), &[&base[..], &[("channel", "sms")]].concat()).await, StatusCode::OK)
            .await;
    assert!(html.contains(&format!("value=\"{MOBILE}\"")), "the mobile is kept");
    let code = crate::peers::six_digits(s.sms.nth(MOBILE, n).await["text"].as_str().unwrap()).unwrap();

    // The two passwords must match; nothing is registered otherwise.
    let mismatch =
        [&base[..], &[("code", code.as_str()), ("password", PASSWORD), ("password2", "something else")]].concat();
    let html = body(b.post(&tp(&s, "/register"), &mismatch).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("The two passwords are not the same."), "{html}");

    let form = [&base[..], &[("code", code.as_str()), ("password", PASSWORD), ("password2", PASSWORD)]].concat();
    let r = b.post(&tp(&s, "/register"), &form).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    // R5: without an email, the optional security-email step comes first.
    let step = location(&r);
    assert!(step.starts_with(&format!("{}?welcome=1&next=", tp(&s, "/account/email"))), "{step}");
    let next = next_of(&s, &step);
    assert_eq!(next, format!("{}?flow={flow}", tp(&s, "/authorize/resume")));
    let html = body(b.get(&step).await, StatusCode::OK).await;
    assert!(html.contains("Add a security email") && html.contains("Skip"), "{html}");

    // Skip: back into the flow, and to the app with a code that redeems.
    let r = b.get(&next).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = location(&r);
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query(&back)["code"].clone();
    let (st, tokens) = s
        .token("console", SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    // And the new account signs in with its mobile and password.
    let r = sign_in(&s, &s.browser(), MOBILE, PASSWORD).await;
    assert_eq!(location(&r), tp(&s, "/account"));
}

#[tokio::test]
async fn r3_register_page_by_account_name_with_a_voice_code_then_r5_adds_a_security_email() {
    let s = Server::start().await;
    let b = s.browser();
    let html = body(b.get(&format!("{}?by=name", tp(&s, "/register"))).await, StatusCode::OK).await;
    assert!(html.contains("name=\"name\""), "the account-name field");
    let csrf = field(&html, "csrf");
    let base = [("csrf", csrf.as_str()), ("flow", ""), ("by", "name"), ("name", "dev_team-01"), ("mobile", MOBILE)];
    let n = s.sms.count_to(MOBILE);
    let html =
        body(b.post(&tp(&s, "/register/code"), &[&base[..], &[("channel", "voice")]].concat()).await, StatusCode::OK)
            .await;
    assert!(html.contains("value=\"dev_team-01\""), "the account name is kept");
    let call = s.sms.nth(MOBILE, n).await;
    assert_eq!(call["channel"], "voice");
    let code = crate::peers::six_digits(call["text"].as_str().unwrap()).unwrap();
    let form = [&base[..], &[("code", code.as_str()), ("password", PASSWORD), ("password2", PASSWORD)]].concat();
    let r = b.post(&tp(&s, "/register"), &form).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    let step = location(&r);
    let next = next_of(&s, &step);
    assert_eq!(next, tp(&s, "/account"), "without a flow the account center is next");

    // R5: the security email, verified by a code, then on to `next`.
    let html = body(b.get(&step).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let email = "dev.team@example.com";
    let form = [("csrf", csrf.as_str()), ("welcome", "1"), ("next", next.as_str()), ("value", email)];
    let n = s.mail.count_to(email);
    let html =
        body(b.post(&tp(&s, "/account/email/code"), &[&form[..], &[("target", "new")]].concat()).await, StatusCode::OK)
            .await;
    assert!(html.contains("A code is on its way.") && html.contains(&format!("value=\"{email}\"")), "{html}");
    let code = s.mail.nth(email, n).await.code().unwrap();
    // Adding a recovery email needs the current password (issue 10 item 1).
    let proof = [("code", code.as_str()), ("current_password", PASSWORD)];
    let r = b.post(&tp(&s, "/account/email"), &[&form[..], &proof[..]].concat()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), next);

    let html = body(b.get(&next).await, StatusCode::OK).await;
    assert!(html.contains("dev_team-01"), "{html}");
    assert!(html.contains("d***@example.com") && html.contains("+86138****8000"), "{html}");
    assert!(!html.contains(email) && !html.contains(MOBILE), "only masked values");
    // The account name signs in.
    let r = sign_in(&s, &s.browser(), "dev_team-01", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r9_register_page_takes_a_recycled_number_over_after_the_checkbox() {
    let s = Server::start().await;
    let old = s.browser();
    register_by_mobile(&s, &old, MOBILE, PASSWORD).await;
    let old_page = body(old.get(&tp(&s, "/account")).await, StatusCode::OK).await;

    let b = s.browser();
    let html = body(b.get(&tp(&s, "/register")).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let base = [("csrf", csrf.as_str()), ("flow", ""), ("by", "mobile"), ("mobile", MOBILE)];
    let code = send_register_sms(&s, &b, &[&base[..], &[("channel", "sms")]].concat(), MOBILE).await;
    let form =
        [&base[..], &[("code", code.as_str()), ("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)]].concat();
    let html = body(b.post(&tp(&s, "/register"), &form).await, StatusCode::CONFLICT).await;
    assert!(html.contains("already signs in another account"), "{html}");
    assert!(html.contains("name=\"take_over\""), "the recycled-number checkbox");

    // Ticking the box with the same code moves the number to the new account.
    let r = b.post(&tp(&s, "/register"), &[&form[..], &[("take_over", "yes")]].concat()).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, NEW_PASSWORD).await.status(), StatusCode::FOUND);
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    // The old account signs in with its id and is told what happened.
    let id = old_page.split("Account ID</dt><dd>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let html = body(sign_in(&s, &s.browser(), &id, PASSWORD).await, StatusCode::OK).await;
    assert!(html.contains("Before you continue"), "{html}");
}

#[tokio::test]
async fn r10_register_page_explains_a_refused_number_range() {
    let s = Server::start().await;
    s.settings(json!({ "registration": { "allowed_mobile_prefixes": ["+86"] } })).await;
    let b = s.browser();
    let html = body(b.get(&tp(&s, "/register")).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("by", "mobile"), ("mobile", "+14155550100"), ("channel", "sms")];
    let html = body(b.post(&tp(&s, "/register/code"), &form).await, StatusCode::FORBIDDEN).await;
    assert!(html.contains("its number range is not accepted"), "{html}");
    assert_eq!(s.sms.count_to("+14155550100"), 0);
}

#[tokio::test]
async fn r34_recover_page_changes_the_password_and_the_new_one_signs_in() {
    let s = Server::start().await;
    let a = s.browser();
    register_by_mobile(&s, &a, MOBILE, PASSWORD).await;

    let b = s.browser();
    let html = body(b.get(&tp(&s, "/recover")).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    // R36: an identifier nobody uses gets the same answer. Each send carries the
    // CAPTCHA of the page it was posted from (R19).
    let captcha = solve_captcha_in(&html, "/recover/code");
    let form = [("csrf", csrf.as_str()), ("identifier", "+8613900000000"), ("captcha", &captcha)];
    let unknown = body(b.post(&tp(&s, "/recover/code"), &form).await, StatusCode::OK).await;
    assert!(unknown.contains("If an account uses this, a code was sent"), "{unknown}");
    let n = s.sms.count_to(MOBILE);
    let captcha = solve_captcha_in(&unknown, "/recover/code");
    let form = [("csrf", csrf.as_str()), ("identifier", MOBILE), ("captcha", &captcha)];
    let html = body(b.post(&tp(&s, "/recover/code"), &form).await, StatusCode::OK).await;
    assert!(html.contains("If an account uses this, a code was sent"), "{html}");
    assert_eq!(field(&html, "identifier"), MOBILE);
    let code = crate::peers::six_digits(s.sms.nth(MOBILE, n).await["text"].as_str().unwrap()).unwrap();

    let form = [("csrf", csrf.as_str()), ("identifier", MOBILE), ("code", code.as_str())];
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let html = body(
        b.post(
            &tp(&s, "/recover"),
            &[
                ("csrf", csrf.as_str()),
                ("identifier", MOBILE),
                ("code", wrong),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(html.contains("The code is wrong"), "{html}");
    let html = body(
        b.post(&tp(&s, "/recover"), &[&form[..], &[("password", "short"), ("password2", "short")]].concat()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(html.contains("This password does not meet the rules. Password: 8 to 64 characters"), "{html}");
    let html = body(
        b.post(&tp(&s, "/recover"), &[&form[..], &[("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)]].concat())
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("Password changed") && html.contains("login\">Sign in</a>"), "{html}");

    // Every session of the account ended; the new password signs in, the old one not.
    let r = a.get(&tp(&s, "/account")).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), tp(&s, "/login"));
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, NEW_PASSWORD).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r35_forgot_account_page_sends_the_account_names_by_sms() {
    let s = Server::start().await;
    let b = s.browser();
    let html = body(b.get(&format!("{}?by=name", tp(&s, "/register"))).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let base = [("csrf", csrf.as_str()), ("by", "name"), ("name", "lost-one"), ("mobile", MOBILE)];
    let code = send_register_sms(&s, &b, &[&base[..], &[("channel", "sms")]].concat(), MOBILE).await;
    let form = [&base[..], &[("code", code.as_str()), ("password", PASSWORD), ("password2", PASSWORD)]].concat();
    assert_eq!(b.post(&tp(&s, "/register"), &form).await.status(), StatusCode::FOUND);
    s.clock.advance(61);

    let c = s.browser();
    let html = body(c.get(&tp(&s, "/recover/account")).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let n = s.sms.count_to(MOBILE);
    let captcha = solve_captcha_in(&html, "/recover/account");
    let form = [("csrf", csrf.as_str()), ("mobile", MOBILE), ("captcha", &captcha)];
    let known = body(c.post(&tp(&s, "/recover/account"), &form).await, StatusCode::OK).await;
    let captcha = solve_captcha_in(&known, "/recover/account");
    let form = [("csrf", csrf.as_str()), ("mobile", "+8613900000000"), ("captcha", &captcha)];
    let unknown = body(c.post(&tp(&s, "/recover/account"), &form).await, StatusCode::OK).await;
    let neutral = "If accounts use this number, their names were sent to it by SMS.";
    assert!(known.contains(neutral) && unknown.contains(neutral), "{known}");
    assert!(s.sms.nth(MOBILE, n).await["text"].as_str().unwrap().contains("lost-one"));
}

#[tokio::test]
async fn r22_account_page_shows_masked_values_and_r29_signs_devices_out() {
    let s = Server::start().await;
    let r = s.browser().get(&tp(&s, "/account")).await;
    assert_eq!(location(&r), tp(&s, "/login"), "no session: sign in first");

    let a = s.browser();
    register_by_mobile(&s, &a, MOBILE, PASSWORD).await;
    let b = s.browser();
    let r = sign_in(&s, &b, MOBILE, PASSWORD).await;
    assert_eq!(location(&r), tp(&s, "/account"), "signing in without a flow lands in the account center");

    let html = body(a.get(&tp(&s, "/account")).await, StatusCode::OK).await;
    assert!(html.contains("+86138****8000"), "{html}");
    assert!(!html.contains(MOBILE), "the full number is never shown");
    for role in ["sign-in", "recovery", "security notices"] {
        assert!(html.contains(role), "{role}");
    }
    // Two devices: this one, and the other with its sign-out button.
    assert_eq!(html.matches("This device").count(), 1);
    assert_eq!(html.matches("name=\"sid\"").count(), 1);
    assert!(html.contains("/logout"), "the sign-out link (R30)");
    let sid = field(&html, "sid");
    let csrf = field(&html, "csrf");
    let r = a.post(&tp(&s, "/account/sessions/end"), &[("csrf", &csrf), ("sid", &sid)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = body(a.get(&location(&r)).await, StatusCode::OK).await;
    assert!(html.contains("The device was signed out."), "{html}");
    assert_eq!(html.matches("name=\"sid\"").count(), 0);
    let r = b.get(&tp(&s, "/account")).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), tp(&s, "/login"), "the signed-out device must sign in again");

    // "Sign out all other devices" keeps only this one.
    let c = s.browser();
    sign_in(&s, &c, MOBILE, PASSWORD).await;
    sign_in(&s, &b, MOBILE, PASSWORD).await;
    let html = body(a.get(&tp(&s, "/account")).await, StatusCode::OK).await;
    assert_eq!(html.matches("name=\"sid\"").count(), 2);
    let r = a.post(&tp(&s, "/account/sessions/end-others"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for other in [&b, &c] {
        assert_eq!(other.get(&tp(&s, "/account")).await.status(), StatusCode::FOUND);
    }
    assert_eq!(a.get(&tp(&s, "/account")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn r23_password_page_with_the_current_password_signs_other_devices_out() {
    let s = Server::start().await;
    let a = s.browser();
    register_by_mobile(&s, &a, MOBILE, PASSWORD).await;
    let b = s.browser();
    sign_in(&s, &b, MOBILE, PASSWORD).await;

    // Only a path inside the tenant is kept as where to go next.
    let evil =
        body(a.get(&format!("{}?next=https://evil.example/", tp(&s, "/account/password"))).await, StatusCode::OK).await;
    assert_eq!(field(&evil, "next"), "");
    let next = tp(&s, "/account");
    let html = body(a.get(&format!("{}?next={next}", tp(&s, "/account/password"))).await, StatusCode::OK).await;
    assert!(html.contains("name=\"current_password\""));
    assert!(html.contains("Use another method"));
    let csrf = field(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("method", "password"), ("next", next.as_str())];

    let wrong =
        [&form[..], &[("current_password", "not it at all"), ("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)]]
            .concat();
    let html = body(a.post(&tp(&s, "/account/password"), &wrong).await, StatusCode::UNAUTHORIZED).await;
    assert!(html.contains("The current password is wrong."), "{html}");
    let differ =
        [&form[..], &[("current_password", PASSWORD), ("password", NEW_PASSWORD), ("password2", "typo")]].concat();
    let html = body(a.post(&tp(&s, "/account/password"), &differ).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("The two passwords are not the same."), "{html}");
    // History (R4): the current password is not a new one.
    let same = [&form[..], &[("current_password", PASSWORD), ("password", PASSWORD), ("password2", PASSWORD)]].concat();
    let html = body(a.post(&tp(&s, "/account/password"), &same).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("not one of your last 3 passwords"), "{html}");

    let ok = [&form[..], &[("current_password", PASSWORD), ("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)]]
        .concat();
    let html = body(a.post(&tp(&s, "/account/password"), &ok).await, StatusCode::OK).await;
    assert!(html.contains("Password changed"), "{html}");
    assert!(
        html.contains(&format!("href=\"{}\"", next.replace('/', "&#x2f;")))
            || html.contains(&format!("href=\"{next}\"")),
        "{html}"
    );
    assert_eq!(a.get(&tp(&s, "/account")).await.status(), StatusCode::OK, "this device stays signed in");
    assert_eq!(b.get(&tp(&s, "/account")).await.status(), StatusCode::FOUND, "the other device is signed out");
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, NEW_PASSWORD).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r27_password_page_proves_identity_with_a_code_to_the_recovery_mobile() {
    let s = Server::start().await;
    let a = s.browser();
    register_by_mobile(&s, &a, MOBILE, PASSWORD).await;
    let html = body(a.get(&format!("{}?method=code", tp(&s, "/account/password"))).await, StatusCode::OK).await;
    assert!(html.contains("+86138****8000") && !html.contains(MOBILE), "{html}");
    assert!(!html.contains("name=\"current_password\""));
    let csrf = field(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("method", "code"), ("next", ""), ("via", "0")];
    let n = s.sms.count_to(MOBILE);
    let html = body(a.post(&tp(&s, "/account/password/code"), &form).await, StatusCode::OK).await;
    assert!(html.contains("A code is on its way."), "{html}");
    let code = crate::peers::six_digits(s.sms.nth(MOBILE, n).await["text"].as_str().unwrap()).unwrap();
    let submit =
        [&form[..], &[("code", code.as_str()), ("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)]].concat();
    let html = body(a.post(&tp(&s, "/account/password"), &submit).await, StatusCode::OK).await;
    assert!(html.contains("Password changed"), "{html}");
    assert_eq!(sign_in(&s, &s.browser(), MOBILE, NEW_PASSWORD).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r24_email_page_changes_the_email_in_two_steps_after_r2_registration_by_email() {
    let s = Server::start().await;
    let a = s.browser();
    let old = "old.box@example.com";
    let new = "new.box@example.com";
    // R2: registration by email; with an email there is no security-email step.
    let html = body(a.get(&format!("{}?by=email", tp(&s, "/register"))).await, StatusCode::OK).await;
    let csrf = field(&html, "csrf");
    let base = [("csrf", csrf.as_str()), ("by", "email"), ("email", old)];
    let n = s.mail.count_to(old);
    body(a.post(&tp(&s, "/register/code"), &[&base[..], &[("channel", "email")]].concat()).await, StatusCode::OK).await;
    let code = s.mail.nth(old, n).await.code().unwrap();
    let form = [&base[..], &[("code", code.as_str()), ("password", PASSWORD), ("password2", PASSWORD)]].concat();
    let r = a.post(&tp(&s, "/register"), &form).await;
    assert_eq!(location(&r), tp(&s, "/account"));
    s.clock.advance(61);

    let html = body(a.get(&tp(&s, "/account/email")).await, StatusCode::OK).await;
    assert!(html.contains("Change email") && html.contains("o***@example.com"), "{html}");
    // The registration signed the browser in: its forms now carry the session's token.
    let csrf = field(&html, "csrf");
    // Step 1: a code to the current email.
    let n_old = s.mail.count_to(old);
    let step1 = [("csrf", csrf.as_str()), ("next", ""), ("target", "current")];
    body(a.post(&tp(&s, "/account/email/code"), &step1).await, StatusCode::OK).await;
    let current_code = s.mail.nth(old, n_old).await.code().unwrap();
    // Step 2: the new email and its code; the first code stays in the form.
    let n_new = s.mail.count_to(new);
    let step2 = [
        ("csrf", csrf.as_str()),
        ("next", ""),
        ("current_code", current_code.as_str()),
        ("value", new),
        ("target", "new"),
    ];
    let html = body(a.post(&tp(&s, "/account/email/code"), &step2).await, StatusCode::OK).await;
    assert!(
        html.contains(&format!("value=\"{current_code}\"")) && html.contains(&format!("value=\"{new}\"")),
        "{html}"
    );
    let new_code = s.mail.nth(new, n_new).await.code().unwrap();
    // A wrong code to the current email is refused and changes nothing.
    let wrong = if current_code == "000000" { "111111" } else { "000000" };
    let submit = |current: &str| {
        [
            ("csrf", csrf.clone()),
            ("next", String::new()),
            ("current_code", current.into()),
            ("value", new.into()),
            ("code", new_code.clone()),
        ]
    };
    let r = a.http.post(s.url(&tp(&s, "/account/email"))).form(&submit(wrong)).send().await.unwrap();
    let html = body(r, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("The code is wrong"), "{html}");
    let r = a.http.post(s.url(&tp(&s, "/account/email"))).form(&submit(&current_code)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let html = body(a.get(&location(&r)).await, StatusCode::OK).await;
    assert!(html.contains("Your email was saved.") && html.contains("n***@example.com"), "{html}");
    assert_eq!(sign_in(&s, &s.browser(), new, PASSWORD).await.status(), StatusCode::FOUND);
    assert_eq!(sign_in(&s, &s.browser(), old, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    // R25: without a mobile, adding one takes only the new number's code.
    let html = body(a.get(&tp(&s, "/account/mobile")).await, StatusCode::OK).await;
    assert!(html.contains("Add a mobile number") && !html.contains("name=\"current_code\""), "{html}");
    let n = s.sms.count_to(MOBILE);
    let add = [("csrf", csrf.as_str()), ("next", ""), ("value", MOBILE), ("target", "new")];
    body(a.post(&tp(&s, "/account/mobile/code"), &add).await, StatusCode::OK).await;
    let code = crate::peers::six_digits(s.sms.nth(MOBILE, n).await["text"].as_str().unwrap()).unwrap();
    let r = a
        .post(
            &tp(&s, "/account/mobile"),
            &[
                ("csrf", csrf.as_str()),
                ("next", ""),
                ("value", MOBILE),
                ("code", code.as_str()),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = body(a.get(&location(&r)).await, StatusCode::OK).await;
    assert!(html.contains("+86138****8000"), "{html}");
}

#[tokio::test]
async fn r1_register_page_speaks_simplified_chinese() {
    let s = Server::start().await;
    let b = s.browser();
    let get = b.http.get(s.url(&tp(&s, "/register"))).header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5");
    let html = body(get.send().await.unwrap(), StatusCode::OK).await;
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("注册账号") && html.contains("获取验证码"), "{html}");
    assert!(html.contains("密码要求：8 到 64 个字符"), "{html}");
    let csrf = field(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("by", "mobile"), ("mobile", MOBILE), ("channel", "sms")];
    let post = |f: &[(&str, &str)]| {
        b.http.post(s.url(&tp(&s, "/register/code"))).header("accept-language", "zh-CN").form(f).send()
    };
    let html = body(post(&form).await.unwrap(), StatusCode::OK).await;
    assert!(html.contains("验证码已发送。"), "{html}");
    // A second code within the cooldown: refused, saying when in Chinese.
    let html = body(post(&form).await.unwrap(), StatusCode::TOO_MANY_REQUESTS).await;
    assert!(html.contains("请求过于频繁，请在 60 秒后重试。"), "{html}");
}

#[tokio::test]
async fn r1_forms_without_the_csrf_token_are_refused() {
    let s = Server::start().await;
    let b = s.browser();
    body(b.get(&tp(&s, "/register")).await, StatusCode::OK).await;
    let no_token = [("by", "mobile"), ("mobile", MOBILE), ("channel", "sms")];
    let html = body(b.post(&tp(&s, "/register/code"), &no_token).await, StatusCode::FORBIDDEN).await;
    assert!(html.contains("The form expired."), "{html}");
    let other_token = "A".repeat(43);
    let forged = [&no_token[..], &[("csrf", other_token.as_str())]].concat();
    body(b.post(&tp(&s, "/register/code"), &forged).await, StatusCode::FORBIDDEN).await;
    body(b.post(&tp(&s, "/recover/code"), &[("identifier", MOBILE)]).await, StatusCode::FORBIDDEN).await;
    assert_eq!(s.sms.count_to(MOBILE), 0, "nothing was sent");

    let a = s.browser();
    register_by_mobile(&s, &a, MOBILE, PASSWORD).await;
    body(a.post(&tp(&s, "/account/sessions/end-others"), &[]).await, StatusCode::FORBIDDEN).await;
    let pw = [
        ("method", "password"),
        ("current_password", PASSWORD),
        ("password", NEW_PASSWORD),
        ("password2", NEW_PASSWORD),
    ];
    body(a.post(&tp(&s, "/account/password"), &pw).await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        sign_in(&s, &s.browser(), MOBILE, PASSWORD).await.status(),
        StatusCode::FOUND,
        "the password is unchanged"
    );
}

/// Registers by email through the API with PASSWORD (R2).
async fn register_email(s: &Server, email: &str) {
    let send = s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": email }));
    let code = s.mail_code(email, send).await;
    let (st, body) =
        s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code })).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    s.clock.advance(61);
}

/// The `Referrer-Policy` of a page whose address holds a link's token.
fn referrer_policy(r: &reqwest::Response) -> String {
    r.headers().get("referrer-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn r34_recover_by_link_page_sets_a_new_password() {
    let s = Server::start().await;
    let email = "by.link@example.com";
    register_email(&s, email).await;
    let signed_in = s.browser();
    assert_eq!(sign_in(&s, &signed_in, email, PASSWORD).await.status(), StatusCode::FOUND);

    // The forgot-password page offers the link; the answer is the same for an unknown
    // address (R36), which gets no mail.
    let b = s.browser();
    let html = body(b.get(&tp(&s, "/recover")).await, StatusCode::OK).await;
    assert!(html.contains("Email me a link"), "{html}");
    let csrf = field(&html, "csrf");
    let neutral =
        "If an account uses this email, a link to set a new password was sent to it. It works for 60 minutes.";
    let n = s.mail.count_to(email);
    // Each send carries the CAPTCHA of the link form of the page it came from (R19).
    let send = |to: &str, page: &str| {
        let captcha = solve_captcha_in(page, "/recover/link/send");
        b.http
            .post(s.url(&tp(&s, "/recover/link/send")))
            .form(&[("csrf", csrf.as_str()), ("flow", ""), ("email", to), ("captcha", &captcha)])
            .send()
    };
    let known = body(send(email, &html).await.unwrap(), StatusCode::OK).await;
    let unknown = body(send("nobody.here@example.com", &known).await.unwrap(), StatusCode::OK).await;
    assert!(known.contains(neutral), "{known}");
    assert!(unknown.contains(neutral), "{unknown}");
    assert!(s.mail.nth(email, n).await.decoded_body().contains(&format!("{}/recover/link?token=", s.issuer())));
    let token = crate::recovery::link_token(&s, email, n).await;
    s.deliveries_settled().await;
    assert_eq!(s.mail.count_to("nobody.here@example.com"), 0);
    // Without the CSRF token the send form does nothing.
    body(b.post(&tp(&s, "/recover/link/send"), &[("email", email)]).await, StatusCode::FORBIDDEN).await;

    // The link opens the new-password page (in any browser); its address stays private.
    let c = s.browser();
    let link = format!("{}?token={token}", tp(&s, "/recover/link"));
    let r = c.get(&link).await;
    assert_eq!(referrer_policy(&r), "no-referrer");
    let html = body(r, StatusCode::OK).await;
    assert_eq!(field(&html, "token"), token);
    let csrf = field(&html, "csrf");
    let finish = |p1: &str, p2: &str| {
        let form = [("csrf", csrf.as_str()), ("token", &token), ("password", p1), ("password2", p2)];
        c.http.post(s.url(&tp(&s, "/recover/link"))).form(&form).send()
    };
    let html = body(finish(NEW_PASSWORD, "a typo").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(html.contains("The two passwords are not the same."), "{html}");
    let html = body(finish("short", "short").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(html.contains("This password does not meet the rules.") && html.contains("8 to 64 characters"), "{html}");
    // Refused passwords leave the link working.
    let html = body(finish(NEW_PASSWORD, NEW_PASSWORD).await.unwrap(), StatusCode::OK).await;
    assert!(html.contains("Password changed") && html.contains("every device was signed out"), "{html}");

    // The link is dead now, opened or posted again.
    let html = body(c.get(&link).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("This link has expired or was already used."), "{html}");
    let html =
        body(finish("yet another passphrase", "yet another passphrase").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(html.contains("This link has expired or was already used."), "{html}");
    let html = body(c.get(&tp(&s, "/recover/link?token=made-up")).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("Link expired or used"), "{html}");

    // Every session ended; the new password signs in, the old one not.
    assert_eq!(location(&signed_in.get(&tp(&s, "/account")).await), tp(&s, "/login"));
    assert_eq!(sign_in(&s, &s.browser(), email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&s, &s.browser(), email, NEW_PASSWORD).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r5_security_email_link_page_confirms_the_email() {
    let s = Server::start().await;
    let email = "security.box@example.com";
    s.register_mobile(MOBILE).await;
    let a = s.browser();
    assert_eq!(location(&sign_in(&s, &a, MOBILE, PASSWORD).await), tp(&s, "/account"));

    // The security-email step offers a link instead of a code.
    let next = tp(&s, "/account");
    let html = body(a.get(&format!("{}?welcome=1&next={next}", tp(&s, "/account/email"))).await, StatusCode::OK).await;
    assert!(html.contains("Send me a link instead") && html.contains("within 2 hours"), "{html}");
    let csrf = field(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("welcome", "1"), ("next", next.as_str()), ("value", email)];
    let n = s.mail.count_to(email);
    let with_proof = [&form[..], &[("current_password", PASSWORD)]].concat();
    let html = body(a.post(&tp(&s, "/account/email/link"), &with_proof).await, StatusCode::OK).await;
    assert!(html.contains("A link is on its way to this email."), "{html}");
    assert!(html.contains("Add a security email") && html.contains(&format!("value=\"{email}\"")), "{html}");
    let token = crate::recovery::link_token(&s, email, n).await;
    assert!(
        s.mail.nth(email, n).await.decoded_body().contains(&format!("{}/account/email/confirm?token=", s.issuer()))
    );

    // Another browser, without a session: the token alone proves the mailbox. Opening
    // the page changes nothing (a mail scanner may open it); the button does.
    let c = s.browser();
    let link = format!("{}?token={token}", tp(&s, "/account/email/confirm"));
    body(c.get(&link).await, StatusCode::OK).await;
    let r = c.get(&link).await;
    assert_eq!(referrer_policy(&r), "no-referrer");
    let html = body(r, StatusCode::OK).await;
    assert!(html.contains("Add this email to your account?") && html.contains("Add the email"), "{html}");
    assert_eq!(field(&html, "token"), token);
    assert_eq!(sign_in(&s, &s.browser(), email, PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let confirm = tp(&s, "/account/email/confirm");
    body(c.post(&confirm, &[("token", token.as_str())]).await, StatusCode::FORBIDDEN).await;
    let csrf = field(&html, "csrf");
    let html = body(c.post(&confirm, &[("csrf", csrf.as_str()), ("token", &token)]).await, StatusCode::OK).await;
    assert!(html.contains("Email added"), "{html}");

    // Single use; the email signs in and shows, masked, in the account center.
    let html =
        body(c.post(&confirm, &[("csrf", csrf.as_str()), ("token", &token)]).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("This link has expired or was already used."), "{html}");
    body(c.get(&link).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(sign_in(&s, &s.browser(), email, PASSWORD).await.status(), StatusCode::FOUND);
    let html = body(a.get(&tp(&s, "/account")).await, StatusCode::OK).await;
    assert!(html.contains("s***@example.com"), "{html}");
    // With an email, the page offers no link any more.
    let html = body(a.get(&tp(&s, "/account/email")).await, StatusCode::OK).await;
    assert!(html.contains("Change email") && !html.contains("Send me a link instead"), "{html}");
}

#[tokio::test]
async fn r25_mobile_page_sends_a_voice_code() {
    let s = Server::start().await;
    let email = "no.mobile@example.com";
    register_email(&s, email).await;
    let a = s.browser();
    assert_eq!(sign_in(&s, &a, email, PASSWORD).await.status(), StatusCode::FOUND);

    let html = body(a.get(&tp(&s, "/account/mobile")).await, StatusCode::OK).await;
    assert!(html.contains("Call me with the code") && html.contains("/code?channel=voice"), "{html}");
    let csrf = field(&html, "csrf");
    let add = [("csrf", csrf.as_str()), ("next", ""), ("value", MOBILE), ("target", "new")];
    let n = s.sms.count_to(MOBILE);
    let html =
        body(a.post(&format!("{}?channel=voice", tp(&s, "/account/mobile/code")), &add).await, StatusCode::OK).await;
    assert!(html.contains("You will get a call that reads out the code."), "{html}");
    assert!(html.contains(&format!("value=\"{MOBILE}\"")), "the number is kept");
    let call = s.sms.nth(MOBILE, n).await;
    assert_eq!(call["channel"], "voice");
    let code = crate::peers::six_digits(call["text"].as_str().unwrap()).unwrap();
    let r = a
        .post(
            &tp(&s, "/account/mobile"),
            &[
                ("csrf", csrf.as_str()),
                ("next", ""),
                ("value", MOBILE),
                ("code", &code),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let html = body(a.get(&location(&r)).await, StatusCode::OK).await;
    assert!(html.contains("Your mobile number was saved.") && html.contains("+86138****8000"), "{html}");

    // An email's code travels by email only, nothing is sent otherwise.
    let other = "other.box@example.com";
    let step = [("csrf", csrf.as_str()), ("next", ""), ("value", other), ("target", "new")];
    let r = a.post(&format!("{}?channel=voice", tp(&s, "/account/email/code")), &step).await;
    let html = body(r, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("Check this field: channel."), "{html}");
    assert_eq!(s.mail.count_to(other), 0);
}

#[tokio::test]
async fn r22_account_page_follows_ui_locales() {
    let s = Server::start().await;
    s.register_mobile(MOBILE).await;
    let a = s.browser();
    sign_in(&s, &a, MOBILE, PASSWORD).await;
    let b = s.browser();
    sign_in(&s, &b, MOBILE, PASSWORD).await;

    let html = body(a.get(&tp(&s, "/account")).await, StatusCode::OK).await;
    assert!(html.contains("lang=\"en\"") && html.contains("Your account"), "{html}");
    // The app's choice wins over the browser's languages, and the links carry it on.
    let get = a.http.get(s.url(&format!("{}?ui_locales=zh-CN", tp(&s, "/account")))).header("accept-language", "en");
    let html = body(get.send().await.unwrap(), StatusCode::OK).await;
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("账号中心") && html.contains("已登录的设备"), "{html}");
    assert!(html.contains("/account/password?ui_locales=zh-CN") && html.contains("/account/email?ui_locales=zh-CN"));
    assert_eq!(field(&html, "ui_locales"), "zh-CN");
    // A form keeps it too: signing the other device out comes back in Chinese.
    let csrf = field(&html, "csrf");
    let r = a.post(&tp(&s, "/account/sessions/end-others"), &[("csrf", csrf.as_str()), ("ui_locales", "zh-CN")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let done = location(&r);
    assert_eq!(done, format!("{}?done=ended_all&ui_locales=zh-CN", tp(&s, "/account")));
    let html = body(a.get(&done).await, StatusCode::OK).await;
    assert!(html.contains("其他所有设备均已退出登录。"), "{html}");

    // The other account pages too, their forms included.
    let html = body(a.get(&format!("{}?ui_locales=zh-CN", tp(&s, "/account/email"))).await, StatusCode::OK).await;
    assert!(html.contains("添加邮箱") && html.contains("改为发送验证链接"), "{html}");
    assert_eq!(field(&html, "ui_locales"), "zh-CN");
    let bad = [("csrf", csrf.as_str()), ("next", ""), ("value", "not an email"), ("target", "new")];
    let zh = [&bad[..], &[("ui_locales", "zh-CN")]].concat();
    let html = body(a.post(&tp(&s, "/account/email/code"), &zh).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("请输入有效的邮箱地址。") && html.contains("lang=\"zh-CN\""), "{html}");
    let html = body(a.post(&tp(&s, "/account/email/code"), &bad).await, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("Enter a valid email address."), "{html}");
    let html = body(a.get(&format!("{}?ui_locales=zh-CN", tp(&s, "/account/password"))).await, StatusCode::OK).await;
    assert!(html.contains("修改密码") && html.contains("ui_locales=zh-CN"), "{html}");
    let html = body(a.get(&format!("{}?ui_locales=zh-CN", tp(&s, "/account/mobile"))).await, StatusCode::OK).await;
    assert!(html.contains("修改手机号") && html.contains("语音播报验证码"), "{html}");
}
