//! Guessing under race and enumeration (issue 10 items 2, 5, 15): bursts of
//! parallel guesses meet the failure limits (R19, R20), and the answers for unknown
//! and known accounts are the same (R36); a refused new password leaves a reset
//! link working (R34). The race tests send real parallel HTTP requests.

use latchkey::config::Config;
use latchkey_core::Clock;
use latchkey_core::credential::password::HashParams;
use latchkey_core::credential::totp::code_at;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::kit::{Browser, PASSWORD, Server, field, location};
use crate::security;

/// Tries in one burst.
const BURST: usize = 30;
/// The default limits (SignInSettings): a CAPTCHA after 3 failures in a row, a
/// wait after 5.
const CAPTCHA_AFTER: usize = 3;
const BACKOFF_AFTER: usize = 5;

/// A server whose password hashes cost what real ones do (argon2id at OWASP's
/// 19 MiB) and run one at a time, so a burst is still in flight while its first
/// tries are hashed: without the reservation, every try of a burst passes the
/// limits before the first failure is counted.
async fn slow_hashing_server() -> Server {
    Server::start_configured(&[], |c: &mut Config| {
        c.password_hash = HashParams { memory_kib: 19456, iterations: 4, parallelism: 1 };
        c.max_concurrent_hashes = 1;
    })
    .await
}

/// A form to post and the cookies (client) to post it with.
type Form = (reqwest::Client, Vec<(String, String)>);

/// How the server answered one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The secret was checked and was wrong.
    Wrong,
    /// Signed in (or on to the next step).
    Passed,
    CaptchaRequired,
    RateLimited,
    /// The pending sign-in had ended (the second step's own five-answer limit).
    Expired,
}

/// Reads a sign-in or second-step page's answer.
async fn answer_of(r: reqwest::Response) -> Answer {
    let status = r.status();
    if status.is_redirection() {
        return Answer::Passed;
    }
    assert!(!status.is_server_error(), "a 5xx: {status}");
    let html = r.text().await.unwrap();
    if html.contains("The account or password is wrong.") || html.contains("The code is wrong") {
        Answer::Wrong
    } else if html.contains("complete the check") {
        Answer::CaptchaRequired
    } else if html.contains("Too many requests") {
        Answer::RateLimited
    } else if html.contains("sign-in expired") || status == StatusCode::NOT_FOUND {
        Answer::Expired
    } else {
        panic!("unexpected answer {status}: {html}")
    }
}

fn count(answers: &[Answer], which: Answer) -> usize {
    answers.iter().filter(|a| **a == which).count()
}

/// Posts every form at once, each from its own browser (its own connection), the
/// form at `delayed` (if any) a little after the others; answers in form order.
async fn burst(s: &Server, path: &str, forms: Vec<Form>, delayed: Option<usize>) -> Vec<Answer> {
    let mut set = JoinSet::new();
    for (i, (http, form)) in forms.into_iter().enumerate() {
        let req = http.post(s.t(path)).form(&form);
        let late = delayed == Some(i);
        set.spawn(async move {
            if late {
                // The others have reached the server; their hashes have not finished.
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            }
            (i, answer_of(req.send().await.unwrap()).await)
        });
    }
    let mut answers = vec![Answer::Expired; set.len()];
    while let Some(done) = set.join_next().await {
        let (i, a) = done.unwrap();
        answers[i] = a;
    }
    answers
}

/// Sign-in forms for `identifier`, one per password, each in a fresh browser.
async fn login_forms(s: &Server, identifier: &str, passwords: &[&str]) -> Vec<Form> {
    let mut forms = Vec::new();
    for password in passwords {
        let b = s.browser();
        let csrf = field(&b.get(&s.t("/login")).await.text().await.unwrap(), "csrf");
        let form = [("csrf", csrf.as_str()), ("flow", ""), ("identifier", identifier), ("password", password)];
        forms.push((b.http, form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
    }
    forms
}

/// The tenant's audit actions.
async fn audit_actions(s: &Server) -> Vec<String> {
    let r = s.admin.get(s.url(&format!("/admin/tenants/{}/audit", s.tenant))).send().await.unwrap();
    let events: Vec<Value> = r.json().await.unwrap();
    events.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

async fn audited(s: &Server, action: &str) -> usize {
    audit_actions(s).await.iter().filter(|a| *a == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r19_parallel_wrong_passwords_are_capped() {
    let s = slow_hashing_server().await;
    // The CAPTCHA inside the burst: once three tries are in flight or failed, the
    // rest need a solved CAPTCHA and are not checked.
    let m = "+8613800138701";
    s.register_mobile(m).await;
    let answers = burst(&s, "/login", login_forms(&s, m, &["wrong password"; BURST]).await, None).await;
    let checked = count(&answers, Answer::Wrong);
    assert!((1..=CAPTCHA_AFTER).contains(&checked), "{checked} of {BURST} checked: {answers:?}");
    assert_eq!(count(&answers, Answer::CaptchaRequired), BURST - checked, "{answers:?}");
    assert_eq!(audited(&s, "sign_in_failed").await, checked, "the audit shows the same");

    // The backoff inside the burst, with no CAPTCHA in the way: five, then a wait.
    s.settings(json!({ "sign_in": { "captcha_after": 1000, "captcha_after_ip_failures": 100000 } })).await;
    let m = "+8613800138702";
    s.register_mobile(m).await;
    let before = audited(&s, "sign_in_failed").await;
    let answers = burst(&s, "/login", login_forms(&s, m, &["wrong password"; BURST]).await, None).await;
    let checked = count(&answers, Answer::Wrong);
    assert!((1..=BACKOFF_AFTER).contains(&checked), "{checked} of {BURST} checked: {answers:?}");
    assert_eq!(count(&answers, Answer::RateLimited), BURST - checked, "{answers:?}");
    assert_eq!(audited(&s, "sign_in_failed").await - before, checked);
    assert!(audited(&s, "sign_in_throttled").await >= BURST - checked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r19_a_right_password_inside_a_burst_is_refused() {
    let s = slow_hashing_server().await;
    let m = "+8613800138703";
    s.register_mobile(m).await;
    let mut passwords = vec!["wrong password"; BURST - 1];
    passwords.push(PASSWORD);
    let answers = burst(&s, "/login", login_forms(&s, m, &passwords).await, Some(BURST - 1)).await;
    let right = answers[BURST - 1];
    assert!(
        matches!(right, Answer::CaptchaRequired | Answer::RateLimited),
        "the right password lands after the cap and is not checked: {right:?} in {answers:?}"
    );
    assert!(count(&answers, Answer::Wrong) <= CAPTCHA_AFTER, "{answers:?}");
    assert!(!audit_actions(&s).await.iter().any(|a| a == "sign_in"), "nobody signed in");
}

/// Security-page forms (with the page's CSRF token) posted from one signed-in browser.
async fn security_forms(s: &Server, b: &Browser, fields: &[(&str, &str)], n: usize) -> Vec<Form> {
    let csrf = field(&security::security_page(s, b).await, "csrf");
    let mut form = vec![("csrf".to_string(), csrf)];
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (0..n).map(|_| (b.http.clone(), form.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r19_parallel_wrong_current_passwords_in_the_account_center_are_capped() {
    let s = slow_hashing_server().await;
    let m = "+8613800138704";
    s.register_mobile(m).await;
    let b = security::signed_in(&s, m).await;
    let forms = security_forms(&s, &b, &[("current_password", "not the password")], BURST).await;
    let mut set = JoinSet::new();
    for (http, form) in forms {
        let req = http.post(s.t("/account/security/two-step/on")).form(&form);
        set.spawn(async move { req.send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(st) = set.join_next().await {
        statuses.push(st.unwrap());
    }
    let checked = statuses.iter().filter(|st| **st == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|st| **st == StatusCode::TOO_MANY_REQUESTS).count();
    assert!((1..=BACKOFF_AFTER).contains(&checked), "{checked} of {BURST} checked: {statuses:?}");
    assert_eq!(limited, BURST - checked, "{statuses:?}");
    let (st, html) = security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "the right one waits too: {html}");
}

/// Second-step forms for `method` and each code, all on `b`'s pending sign-in.
async fn verify_forms(s: &Server, b: &Browser, method: &str, codes: &[String]) -> Vec<Form> {
    let html = b.get(&s.t(&format!("/login/verify?method={method}"))).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    codes
        .iter()
        .map(|code| {
            let form = vec![
                ("csrf".to_string(), csrf.clone()),
                ("method".to_string(), method.to_string()),
                ("code".to_string(), code.clone()),
            ];
            (b.http.clone(), form)
        })
        .collect()
}

/// A browser whose password sign-in now owes the second factor.
async fn at_second_step(s: &Server, m: &str) -> Browser {
    let b = s.browser();
    let csrf = field(&b.get(&s.t("/login")).await.text().await.unwrap(), "csrf");
    let r = b.submit_login(&s.issuer(), &csrf, "", m, PASSWORD).await;
    assert!(location(&r).ends_with("/login/verify"), "a second factor is asked for");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r20_parallel_wrong_second_factor_codes_are_capped() {
    let s = Server::start().await;
    let m = "+8613800138705";
    s.register_mobile(m).await;
    let b = security::signed_in(&s, m).await;
    let secret = security::start_totp(&s, &b).await;
    let code = code_at(&secret, s.clock.now()).unwrap();
    assert_eq!(security::post(&s, &b, "/totp/confirm", &[("code", &code)]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(
        security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await.0,
        StatusCode::SEE_OTHER
    );

    let now = s.clock.now();
    let right: Vec<String> = [now - 30, now, now + 30].iter().map(|t| code_at(&secret, *t).unwrap()).collect();
    let wrong: Vec<String> =
        (0..).map(|i| format!("{:06}", 100_000 + i)).filter(|c| !right.contains(c)).take(BURST).collect();
    let pending = at_second_step(&s, m).await;
    let answers = burst(&s, "/login/verify", verify_forms(&s, &pending, "totp", &wrong).await, None).await;
    let checked = audited(&s, "second_factor_failed").await;
    assert!((1..=BACKOFF_AFTER).contains(&checked), "{checked} of {BURST} checked: {answers:?}");
    assert!(count(&answers, Answer::Wrong) <= checked, "{answers:?}");
    assert_eq!(count(&answers, Answer::Passed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r20_parallel_recovery_code_guesses_are_capped() {
    let s = Server::start().await;
    let m = "+8613800138706";
    s.register_mobile(m).await;
    let b = security::signed_in(&s, m).await;
    let (st, html) = security::post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::OK);
    let codes = security::codes_in(&html);
    assert_eq!(
        security::post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await.0,
        StatusCode::SEE_OTHER
    );

    let wrong: Vec<String> =
        (0..).map(|i| format!("00000-{:05}", i)).filter(|c| !codes.contains(c)).take(BURST).collect();
    let pending = at_second_step(&s, m).await;
    let answers = burst(&s, "/login/verify", verify_forms(&s, &pending, "recovery_code", &wrong).await, None).await;
    let checked = audited(&s, "second_factor_failed").await;
    assert!((1..=BACKOFF_AFTER).contains(&checked), "{checked} of {BURST} checked: {answers:?}");
    assert_eq!(count(&answers, Answer::Passed), 0);
    let (st, html) = security::post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "the account waits, whatever is guessed: {html}");
}

#[tokio::test]
async fn r36_register_checks_the_code_before_saying_taken() {
    let s = Server::start().await;
    let taken = "taken@example.com";
    s.add_user(taken).await;

    let register = |email: &'static str, code: &'static str| {
        s.api("/api/register", json!({ "by": "email", "email": email, "password": PASSWORD, "code": code }))
    };
    let (st_taken, taken_answer) = register(taken, "123456").await;
    let (st_free, free_answer) = register("free@example.com", "123456").await;
    assert_eq!((st_taken, taken_answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some("code_invalid")));
    assert_eq!((st_free, &free_answer), (st_taken, &taken_answer), "the same answer, taken or not");

    // With the code, the person learns it is taken.
    let code = s
        .mail_code(taken, s.api("/api/codes", json!({ "purpose": "register", "channel": "email", "to": taken })))
        .await;
    let (st, body) =
        s.api("/api/register", json!({ "by": "email", "email": taken, "password": PASSWORD, "code": code })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::CONFLICT, Some("identifier_taken")), "{body}");
}

#[tokio::test]
async fn r36_recover_answers_a_weak_password_the_same_for_unknown_accounts() {
    let s = Server::start().await;
    let m = "+8613800138707";
    s.register_mobile(m).await;
    let recover = |identifier: &'static str, password: &'static str| {
        s.api("/api/recover", json!({ "identifier": identifier, "code": "123456", "new_password": password }))
    };
    for password in ["short", "a strong new password"] {
        let known = recover(m, password).await;
        let unknown = recover("+8613800139999", password).await;
        let unknown_name = recover("nosuchname", password).await;
        assert_eq!(known, unknown, "{password}");
        assert_eq!(known, unknown_name, "{password}");
        let want = if password == "short" { "invalid_input" } else { "code_invalid" };
        assert_eq!((known.0, known.1["error"].as_str()), (StatusCode::BAD_REQUEST, Some(want)), "{password}");
    }
}

/// The shape of a JSON value: keys, nesting and value types, not values.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(k, _)| *k != "transports").map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

#[tokio::test]
async fn r36_passkey_start_looks_the_same_for_unknown_identifiers() {
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    let s = Server::start().await;
    let (with, without) = ("+8613800138708", "+8613800138709");
    s.register_mobile(with).await;
    s.register_mobile(without).await;
    let b = security::signed_in(&s, with).await;
    let csrf = field(&security::security_page(&s, &b).await, "csrf");
    let mut key = SoftPasskey::new(true);
    let (st, started) =
        security::passkey_call(&s, &b, Some(&csrf), "start", json!({ "current_password": PASSWORD })).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let credential = security::create(&mut key, &s.base, &started["options"]);
    let body = json!({ "ceremony": started["ceremony"], "credential": credential, "label": "Laptop" });
    assert_eq!(security::passkey_call(&s, &b, Some(&csrf), "finish", body).await.0, StatusCode::CREATED);

    let fresh = s.browser();
    let csrf = field(&fresh.get(&s.t("/login")).await.text().await.unwrap(), "csrf");
    let start = |identifier: &'static str| {
        let req = fresh.http.post(s.t("/login/passkey/start")).json(&json!({ "csrf": csrf, "identifier": identifier }));
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let real = start(with).await;
    assert_eq!(real.0, StatusCode::OK, "{}", real.1);
    for identifier in [without, "+8613800139999", "nobody@example.com", "nosuchname"] {
        let (st, v) = start(identifier).await;
        assert_eq!((st, shape(&v)), (real.0, shape(&real.1)), "{identifier}: {v}");
        let (_, again) = start(identifier).await;
        assert_eq!(
            v["options"]["publicKey"]["allowCredentials"], again["options"]["publicKey"]["allowCredentials"],
            "{identifier}: stable between asks"
        );
        assert_ne!(v["options"]["publicKey"]["challenge"], again["options"]["publicKey"]["challenge"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r34_a_reset_link_survives_a_refused_password() {
    let s = Server::start().await;
    let email = "reset.me@example.com";
    s.add_user(email).await;
    let n = s.mail.count_to(email);
    let (st, _) = s.api("/api/recover/link", json!({ "email": email, "captcha": s.captcha().await })).await;
    assert_eq!(st, StatusCode::OK);
    let token = crate::recovery::link_token(&s, email, n).await;
    for refused in ["short", PASSWORD] {
        let (st, body) = s.api("/api/recover/link/finish", json!({ "token": token, "new_password": refused })).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{refused}");
    }
    // Still good: used in parallel with acceptable passwords, it changes one.
    let mut set = JoinSet::new();
    for i in 0..8 {
        let req = crate::kit::no_redirects()
            .post(s.t("/api/recover/link/finish"))
            .json(&json!({ "token": token, "new_password": format!("reset by link {i}") }));
        set.spawn(async move { req.send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(st) = set.join_next().await {
        statuses.push(st.unwrap());
    }
    assert_eq!(statuses.iter().filter(|st| **st == StatusCode::NO_CONTENT).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|st| *st == StatusCode::NO_CONTENT || st.is_client_error()), "{statuses:?}");
}
