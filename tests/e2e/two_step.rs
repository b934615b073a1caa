//! The second step of signing in (R20), its limits and CAPTCHA (R19), step-up and the
//! `amr`/`acr` it yields (P4), and the audit trail of it all.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, SECRET, Server, field, location, no_redirects, query, solve_captcha};

/// Gives the SMS second factor on the pending sign-in of `b`; returns the answer to
/// the code (a redirect once signed in).
pub async fn give_sms_factor(s: &Server, b: &Browser, mobile: &str, remember: bool) -> reqwest::Response {
    // Past the resend cooldown of any earlier code to this number.
    s.clock.advance(61);
    let html = b.get(&s.t("/login/verify?method=sms")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let n = s.sms.count_to(mobile);
    let r = b.post(&s.t("/login/verify/send"), &[("csrf", &csrf), ("method", "sms")]).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let code = crate::peers::six_digits(s.sms.nth(mobile, n).await["text"].as_str().unwrap()).unwrap();
    let mut form = vec![("csrf", csrf.as_str()), ("method", "sms"), ("code", code.as_str())];
    if remember {
        form.push(("remember", "1"));
    }
    b.post(&s.t("/login/verify"), &form).await
}

/// Posts the sign-in form from a fresh sign-in page (optionally in a flow, with a CAPTCHA answer).
async fn login(s: &Server, b: &Browser, identifier: &str, password: &str, captcha: Option<&str>) -> reqwest::Response {
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let mut form = vec![("csrf", csrf.as_str()), ("flow", ""), ("identifier", identifier), ("password", password)];
    if let Some(c) = captcha {
        form.push(("captcha", c));
    }
    b.post(&s.t("/login"), &form).await
}

pub(crate) fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn audit_actions(s: &Server) -> Vec<String> {
    let events: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/audit", s.tenant))).send().await.unwrap().json().await.unwrap();
    events.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

/// Runs the code flow for client "web" in browser `b` (already signed in or not),
/// with `acr_values` if given, through whatever pages `steps` answers; returns the
/// ID token's claims.
async fn id_token_after(s: &Server, b: &Browser, acr: Option<&str>, mobile: &str) -> Value {
    let rp = s.rp("web", Some(SECRET)).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    if let Some(a) = acr {
        req = req.add_auth_context_value(AuthenticationContextClass::new(a.into()));
    }
    let (url, _, nonce) = req.url();
    let mut next = location(&b.get(url.as_str()).await);
    // Sign in if asked, give the second factor if asked, until the app gets its code.
    loop {
        if next.contains("/login?flow=") {
            let html = b.get(&next).await.text().await.unwrap();
            let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), &field(&html, "flow"), mobile, PASSWORD).await;
            next = location(&r);
        } else if next.ends_with("/login/verify") {
            let r = give_sms_factor(s, b, mobile, false).await;
            assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
            next = location(&r);
        } else if next.contains("/authorize/resume") {
            next = location(&b.get(&next).await);
        } else {
            break;
        }
    }
    assert!(next.starts_with(crate::kit::REDIRECT), "{next}");
    let code = query(&next)["code"].clone();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&no_redirects())
        .await
        .unwrap();
    let id = tokens.id_token().unwrap();
    id.claims(&rp.id_token_verifier(), &nonce).expect("the ID token verifies");
    payload(&id.to_string())
}

#[tokio::test]
async fn r20_p4_sms_second_factor_when_the_tenant_requires_it_and_the_id_token_says_mfa() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.settings(json!({ "sign_in": { "require_second_factor": true } })).await;
    let m = "+8613800138501";
    s.register_mobile(m).await;
    let b = s.browser();
    let r = login(&s, &b, m, PASSWORD, None).await;
    assert_eq!(location(&r), format!("/t/{}/login/verify", s.tenant), "the password alone does not sign in");
    assert_eq!(b.http.get(s.t("/api/account")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A wrong code is refused and counted.
    let html = b.get(&s.t("/login/verify?method=sms")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let r = b.post(&s.t("/login/verify"), &[("csrf", &csrf), ("method", "sms"), ("code", "000000")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = give_sms_factor(&s, &b, m, false).await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    assert_eq!(b.http.get(s.t("/api/account")).send().await.unwrap().status(), StatusCode::OK);

    // Through an app: the ID token carries both factors.
    let claims = id_token_after(&s, &s.browser(), None, m).await;
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));
    assert_eq!(claims["acr"], "2");
    let actions = audit_actions(&s).await;
    for a in ["second_factor_failed", "second_factor_passed", "sign_in"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn r20_remember_device_skips_the_factor_and_a_password_change_revokes_it() {
    let s = Server::start().await;
    s.settings(json!({ "sign_in": { "require_second_factor": true } })).await;
    let m = "+8613800138502";
    s.register_mobile(m).await;
    let b = s.browser();
    login(&s, &b, m, PASSWORD, None).await;
    let r = give_sms_factor(&s, &b, m, true).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("lk_remember=") && c.contains("Max-Age=2592000")), "{cookies:?}");
    // Signing in again on this browser skips the second factor.
    let r = login(&s, &b, m, PASSWORD, None).await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant), "remembered for 30 days");
    // Another browser is not remembered.
    let other = s.browser();
    assert!(location(&login(&s, &other, m, PASSWORD, None).await).ends_with("/login/verify"));
    // A new password forgets every remembered device.
    s.clock.advance(61);
    let (st, body) = b
        .api_post(
            &s,
            "/api/account/password",
            json!({ "current_password": PASSWORD, "new_password": "a new password" }),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let r = login(&s, &b, m, "a new password", None).await;
    assert!(location(&r).ends_with("/login/verify"), "the remembered device was revoked");
}

#[tokio::test]
async fn p4_acr_values_steps_up_a_one_factor_session_to_two() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let m = "+8613800138503";
    s.register_mobile(m).await;
    let disco: Value = reqwest::get(s.t("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(disco["acr_values_supported"], json!(["1", "2"]));
    let b = s.browser();
    let first = id_token_after(&s, &b, None, m).await;
    assert_eq!((first["acr"].as_str(), first["amr"].clone()), (Some("1"), json!(["pwd"])));
    // The same session, an app asking for two factors: only the second is asked for.
    let stepped = id_token_after(&s, &b, Some("2"), m).await;
    assert_eq!(stepped["acr"], "2");
    assert_eq!(stepped["amr"], json!(["pwd", "sms", "mfa"]));
    assert!(stepped["auth_time"].as_u64() >= first["auth_time"].as_u64());
    // Now the session is strong enough: no more questions.
    let again = id_token_after(&s, &b, Some("2"), m).await;
    assert_eq!(again["sid"], stepped["sid"]);
}

#[tokio::test]
async fn r19_the_101st_failed_sign_in_in_an_hour_is_refused_and_the_lock_ends() {
    let s = Server::start().await;
    s.settings(json!({ "sign_in": { "captcha_after": 1000, "captcha_after_ip_failures": 100000 } })).await;
    let m = "+8613800138504";
    s.register_mobile(m).await;
    let b = s.browser();
    for i in 0..100 {
        // Past the longest backoff (30 s) each time: only the hourly cap can bite.
        s.clock.advance(31);
        let r = login(&s, &b, m, "wrong password", None).await;
        let html = r.text().await.unwrap();
        assert!(html.contains("is wrong"), "failure {} should be a wrong password: {html}", i + 1);
    }
    s.clock.advance(31);
    let html = login(&s, &b, m, PASSWORD, None).await.text().await.unwrap();
    assert!(html.contains("Too many requests"), "the 101st try in an hour is refused, even with the right password");
    // Never locked for good: an hour after the first failure, the password works.
    s.clock.advance(3600);
    let r = login(&s, &b, m, PASSWORD, None).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(audit_actions(&s).await.iter().any(|a| a == "sign_in_throttled"));
}

#[tokio::test]
async fn r19_a_captcha_appears_after_failures_and_wrong_or_reused_answers_fail() {
    let s = Server::start().await;
    let m = "+8613800138505";
    s.register_mobile(m).await;
    let b = s.browser();
    let mut html = String::new();
    for _ in 0..3 {
        html = login(&s, &b, m, "wrong password", None).await.text().await.unwrap();
    }
    assert!(html.contains("data-salt="), "after three failures the page carries a challenge");
    // Without an answer, even the right password is not checked.
    let page = login(&s, &b, m, PASSWORD, None).await.text().await.unwrap();
    assert!(page.contains("complete the check"), "{page}");
    // A solved challenge with a wrong password: a wrong password.
    let answer = solve_captcha(&page);
    let page = login(&s, &b, m, "wrong password", Some(&answer)).await.text().await.unwrap();
    assert!(page.contains("is wrong"), "{page}");
    // The same answer again fails: single use.
    let reused = login(&s, &b, m, PASSWORD, Some(&answer)).await.text().await.unwrap();
    assert!(reused.contains("check failed"), "{reused}");
    // A wrong answer fails.
    let (id, _) = solve_captcha(&reused).split_once(':').map(|(a, b)| (a.to_string(), b.to_string())).unwrap();
    let wrong = login(&s, &b, m, PASSWORD, Some(&format!("{id}:1"))).await.text().await.unwrap();
    assert!(wrong.contains("check failed"), "{wrong}");
    // A fresh, right answer with the right password signs in.
    let r = login(&s, &b, m, PASSWORD, Some(&solve_captcha(&wrong))).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(audit_actions(&s).await.iter().any(|a| a == "captcha_failed"));
}

/// Answers the second-step form of `b`'s pending sign-in with `method` and `code`.
async fn answer(s: &Server, b: &Browser, method: &str, code: &str) -> reqwest::Response {
    let html = b.get(&s.t(&format!("/login/verify?method={method}"))).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    b.post(&s.t("/login/verify"), &[("csrf", &csrf), ("method", method), ("code", code)]).await
}

/// The `amr` of the newest sign-in in the audit.
async fn last_sign_in_amr(s: &Server) -> Value {
    let events: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/audit", s.tenant))).send().await.unwrap().json().await.unwrap();
    events.iter().find(|e| e["action"] == "sign_in").unwrap()["detail"]["amr"].clone()
}

/// Signs in with a password in a new browser and expects the second step.
async fn password_then_verify(s: &Server, m: &str) -> Browser {
    let b = s.browser();
    let r = login(s, &b, m, PASSWORD, None).await;
    assert!(location(&r).ends_with("/login/verify"), "2-step is on: a second factor is asked for");
    b
}

#[tokio::test]
async fn r20_authenticator_app_signs_in_and_a_replayed_code_is_refused() {
    use latchkey_core::Clock;
    use latchkey_core::credential::totp::code_at;
    let s = Server::start().await;
    let m = "+8613800138506";
    s.register_mobile(m).await;
    let b = crate::security::signed_in(&s, m).await;
    let secret = crate::security::start_totp(&s, &b).await;
    let (st, _) =
        crate::security::post(&s, &b, "/totp/confirm", &[("code", &code_at(&secret, s.clock.now()).unwrap())]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _) = crate::security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);

    s.clock.advance(30);
    let code = code_at(&secret, s.clock.now()).unwrap();
    let first = password_then_verify(&s, m).await;
    let r = answer(&s, &first, "totp", &code).await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    assert_eq!(last_sign_in_amr(&s).await, json!(["pwd", "otp", "mfa"]));
    // The same code again, still inside its 30 seconds: refused.
    let second = password_then_verify(&s, m).await;
    let r = answer(&s, &second, "totp", &code).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a code is accepted once");
    // The next code works.
    s.clock.advance(30);
    let r = answer(&s, &second, "totp", &code_at(&secret, s.clock.now()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r20_r38_a_recovery_code_signs_in_once_and_tells_the_owner() {
    let s = Server::start().await;
    let m = "+8613800138507";
    s.register_mobile(m).await;
    let b = crate::security::signed_in(&s, m).await;
    let (_, html) = crate::security::post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    let codes = crate::security::codes_in(&html);
    assert_eq!(codes.len(), 10);
    crate::security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;

    let first = password_then_verify(&s, m).await;
    let n = s.sms.count_to(m);
    let r = answer(&s, &first, "recovery_code", &codes[3].to_uppercase()).await;
    assert_eq!(r.status(), StatusCode::FOUND, "case does not matter");
    let notice = s.sms.nth(m, n).await;
    assert!(notice["text"].as_str().unwrap().contains("recovery code was used"), "{notice}");
    let second = password_then_verify(&s, m).await;
    assert_eq!(answer(&s, &second, "recovery_code", &codes[3]).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(answer(&s, &second, "recovery_code", &codes[4]).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn r20_a_passkey_signs_in_without_a_password_and_serves_as_second_factor() {
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, Url};
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    let s = Server::start().await;
    let m = "+8613800138508";
    s.register_mobile(m).await;
    let b = crate::security::signed_in(&s, m).await;
    let csrf = field(&crate::security::security_page(&s, &b).await, "csrf");
    let mut key = SoftPasskey::new(true);
    let (st, started) =
        crate::security::passkey_call(&s, &b, Some(&csrf), "start", json!({ "current_password": PASSWORD })).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let credential = crate::security::create(&mut key, &s.base, &started["options"]);
    let body = json!({ "ceremony": started["ceremony"], "credential": credential, "label": "Laptop" });
    let (st, v) = crate::security::passkey_call(&s, &b, Some(&csrf), "finish", body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    let mut get = |options: &Value| -> Value {
        let options: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        serde_json::to_value(key.do_authentication(Url::parse(&s.base).unwrap(), options).unwrap()).unwrap()
    };
    let call = |b: &Browser, path: &str, body: Value| {
        let req = b.http.post(s.t(path)).json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Passwordless: the identifier, then the passkey.
    let fresh = s.browser();
    let csrf = field(&fresh.get(&s.t("/login")).await.text().await.unwrap(), "csrf");
    // No passkey for that identifier: the answer looks the same (R36), and nothing
    // finishes its ceremony.
    let (st, decoy) =
        call(&fresh, "/login/passkey/start", json!({ "csrf": csrf, "identifier": "+8613800000000" })).await;
    assert_eq!(st, StatusCode::OK, "{decoy}");
    let (st, started) = call(&fresh, "/login/passkey/start", json!({ "csrf": csrf, "identifier": m })).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let assertion = get(&started["options"]);
    let wrong = json!({ "csrf": csrf, "ceremony": decoy["ceremony"], "credential": assertion.clone(), "flow": "" });
    let (st, _) = call(&fresh, "/login/passkey/finish", wrong).await;
    assert!(st.is_client_error(), "no passkey for that identifier: {st}");
    let body = json!({ "csrf": csrf, "ceremony": started["ceremony"], "credential": assertion.clone(), "flow": "" });
    let (st, v) = call(&fresh, "/login/passkey/finish", body.clone()).await;
    assert_eq!((st, v["redirect"].as_str()), (StatusCode::OK, Some(format!("/t/{}/account", s.tenant).as_str())));
    assert_eq!(fresh.http.get(s.t("/api/account")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(last_sign_in_amr(&s).await, json!(["hwk", "mfa"]));
    let (st, _) = call(&s.browser(), "/login/passkey/finish", body).await;
    assert!(st.is_client_error(), "a ceremony answers once");

    // As the second factor after a password.
    crate::security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    let other = password_then_verify(&s, m).await;
    let html = other.get(&s.t("/login/verify?method=passkey")).await.text().await.unwrap();
    assert!(html.contains("passkey-button"), "{html}");
    let csrf = field(&html, "csrf");
    let (st, started) = call(&other, "/login/verify/passkey/start", json!({ "csrf": csrf })).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let body = json!({ "csrf": csrf, "ceremony": started["ceremony"], "credential": get(&started["options"]) });
    let (st, v) = call(&other, "/login/verify/passkey/finish", body).await;
    assert_eq!((st, v["redirect"].as_str()), (StatusCode::OK, Some(format!("/t/{}/account", s.tenant).as_str())));
    assert_eq!(last_sign_in_amr(&s).await, json!(["pwd", "hwk", "mfa"]));
}

#[tokio::test]
async fn w1_r19_a_plugin_that_requires_a_captcha_gets_one_before_the_session() {
    let s = Server::start().await;
    let m = "+8613800138509";
    s.register_mobile(m).await;
    let (st, v) = crate::plugins::install(&s, &s.tenant, "sign_in_gate", json!({ "captcha_methods": ["pwd"] })).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let b = s.browser();
    let r = login(&s, &b, m, PASSWORD, None).await;
    assert!(location(&r).ends_with("/login/verify"));
    let html = b.get(&s.t("/login/verify")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let (id, _) = solve_captcha(&html).split_once(':').map(|(a, b)| (a.to_string(), b.to_string())).unwrap();
    let r =
        b.post(&s.t("/login/verify"), &[("csrf", &csrf), ("method", "captcha"), ("captcha", &format!("{id}:1"))]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong answer");
    assert_eq!(b.http.get(s.t("/api/account")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    let r = b
        .post(&s.t("/login/verify"), &[("csrf", &csrf), ("method", "captcha"), ("captcha", &solve_captcha(&html))])
        .await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    assert_eq!(b.http.get(s.t("/api/account")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn r19_wrong_current_passwords_in_the_account_center_count_as_failed_sign_ins() {
    let s = Server::start().await;
    let m = "+8613800138510";
    s.register_mobile(m).await;
    let b = crate::security::signed_in(&s, m).await;
    let wrong = json!({ "current_password": "not it at all", "new_password": "a new password" });
    for _ in 0..5 {
        let (st, _) = b.api_post(&s, "/api/account/password", wrong.clone()).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, v) = b.api_post(&s, "/api/account/password", wrong.clone()).await;
    assert_eq!((st, v["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{v}");
    // The same account's sign-in waits too: one budget per account.
    let html = login(&s, &s.browser(), m, PASSWORD, None).await.text().await.unwrap();
    assert!(html.contains("Too many requests"), "{html}");
    s.clock.advance(2);
    let right = json!({ "current_password": PASSWORD, "new_password": "a new password" });
    assert_eq!(b.api_post(&s, "/api/account/password", right).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn r37_second_factor_codes_keep_the_code_limits() {
    let s = Server::start().await;
    s.settings(json!({ "sign_in": { "require_second_factor": true } })).await;
    let m = "+8613800138511";
    s.register_mobile(m).await;
    let b = s.browser();
    login(&s, &b, m, PASSWORD, None).await;
    let html = b.get(&s.t("/login/verify?method=sms")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let n = s.sms.count_to(m);
    let first = b.post(&s.t("/login/verify/send"), &[("csrf", &csrf), ("method", "sms")]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = b.post(&s.t("/login/verify/send"), &[("csrf", &csrf), ("method", "sms")]).await;
    let html = again.text().await.unwrap();
    assert!(html.contains("Too many requests"), "the resend cooldown holds: {html}");
    s.sms.nth(m, n).await;
    assert_eq!(s.sms.count_to(m), n + 1, "one code went out, not two");
}
