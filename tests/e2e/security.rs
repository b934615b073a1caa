//! The account center's Security section (R20, R38): authenticator app, recovery
//! codes, 2-step verification on and off, passkeys; identity checks, notices, audit.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::Clock;
use latchkey_core::credential::totp::code_at;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::kit::{Browser, PASSWORD, Server, field, location};

const SECURITY: &str = "/account/security";

/// A browser signed in (no authorization flow) as `identifier` with PASSWORD.
pub(crate) async fn signed_in(s: &Server, identifier: &str) -> Browser {
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", identifier, PASSWORD).await;
    assert!(r.status().is_redirection(), "sign-in failed: {}", r.status());
    b
}

/// The Security page's HTML.
pub(crate) async fn security_page(s: &Server, b: &Browser) -> String {
    let r = b.get(&s.t(SECURITY)).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// Posts a form of the Security section (with the page's CSRF token); returns the
/// status and the body, or the redirect's target for a redirect.
pub(crate) async fn post(s: &Server, b: &Browser, action: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let csrf = field(&security_page(s, b).await, "csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = b.post(&s.t(&format!("{SECURITY}{action}")), &form).await;
    let status = r.status();
    if status.is_redirection() {
        return (status, location(&r));
    }
    (status, r.text().await.unwrap())
}

/// The text of the element with `id` (its first text up to the next tag).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..].split('<').next().unwrap().trim().to_string()
}

/// The actions of the tenant's audit events, oldest first.
async fn audit_actions(s: &Server) -> Vec<String> {
    let r = s.admin.get(s.url(&format!("/admin/tenants/{}/audit", s.tenant))).send().await.unwrap();
    let events: Vec<Value> = r.json().await.unwrap();
    events.iter().rev().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

/// Starts the authenticator setup and returns the key the page shows.
pub(crate) async fn start_totp(s: &Server, b: &Browser) -> String {
    let (st, html) = post(s, b, "/totp/start", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("<svg"), "the QR code is drawn inline");
    text_of(&html, "totp-secret")
}

/// A six-digit code other than `code`.
fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn r20_security_totp_set_up_confirmed_by_code_and_removed_with_the_password() {
    let s = Server::start().await;
    s.register_mobile("+8613800138401").await;
    let b = signed_in(&s, "+8613800138401").await;
    assert_eq!(text_of(&security_page(&s, &b).await, "totp-state"), "Not set up.");

    let secret = start_totp(&s, &b).await;
    let code = code_at(&secret, s.clock.now()).unwrap();
    let (st, html) = post(&s, &b, "/totp/confirm", &[("code", &other_code(&code))]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a wrong first code is refused");
    assert!(html.contains("The code is wrong"), "{html}");
    assert!(text_of(&html, "totp-state").starts_with("Setup not finished"));

    let (st, to) = post(&s, &b, "/totp/confirm", &[("code", &code)]).await;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/t/t1/account/security?done=totp_on"));
    let html = security_page(&s, &b).await;
    assert!(text_of(&html, "totp-state").starts_with("Active since"), "{html}");
    assert!(html.contains("authenticator app"), "listed among the usable factors");
    let (st, _) = post(&s, &b, "/totp/start", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::CONFLICT, "a second setup needs the first removed");

    let (st, html) = post(&s, &b, "/totp/remove", &[("current_password", "not the password")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(html.contains("The current password is wrong."));
    assert!(text_of(&security_page(&s, &b).await, "totp-state").starts_with("Active since"));
    let (st, _) = post(&s, &b, "/totp/remove", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(text_of(&security_page(&s, &b).await, "totp-state"), "Not set up.");

    let actions = audit_actions(&s).await;
    let (on, off) =
        (actions.iter().position(|a| a == "totp_enabled"), actions.iter().position(|a| a == "totp_removed"));
    assert!(on.is_some() && on < off, "{actions:?}");
}

/// The recovery codes on the page that shows them.
pub(crate) fn codes_in(html: &str) -> Vec<String> {
    html.split("<code class=\"recovery-code\">").skip(1).map(|p| p.split('<').next().unwrap().to_string()).collect()
}

#[tokio::test]
async fn r20_security_recovery_codes_shown_once_and_replaced_by_a_new_set() {
    let s = Server::start().await;
    s.register_mobile("+8613800138402").await;
    let b = signed_in(&s, "+8613800138402").await;
    assert!(text_of(&security_page(&s, &b).await, "codes-state").starts_with("None"));

    let (st, html) = post(&s, &b, "/recovery-codes", &[("current_password", "not the password")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(codes_in(&html).is_empty());

    let (st, html) = post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::OK);
    let first = codes_in(&html);
    assert_eq!(first.len(), 10, "{html}");
    assert!(first.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{first:?}");
    let page = security_page(&s, &b).await;
    assert!(text_of(&page, "codes-state").starts_with("10 unused"));
    assert!(!page.contains(&first[0]), "the codes are shown once");

    let (st, html) = post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::OK);
    let second = codes_in(&html);
    assert_eq!(second.len(), 10);
    assert!(first.iter().all(|c| !second.contains(c)), "a new set");
    assert!(text_of(&security_page(&s, &b).await, "codes-state").starts_with("10 unused"));
    assert_eq!(audit_actions(&s).await.iter().filter(|a| *a == "recovery_codes_generated").count(), 2);
}

#[tokio::test]
async fn r20_r38_security_two_step_on_and_off_with_notices_and_audit() {
    let s = Server::start().await;
    let m = "+8613800138403";
    s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    assert_eq!(text_of(&security_page(&s, &b).await, "two-step-state"), "Off");

    let (st, _) = post(&s, &b, "/two-step/on", &[("current_password", "not the password")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let before = s.sms.count_to(m);
    // The verified mobile is a factor (SMS codes).
    let (st, to) = post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/t/t1/account/security?done=two_step_on"));
    let notice = s.sms.nth(m, before).await;
    assert!(notice["text"].as_str().unwrap().contains("2-step verification was turned on"), "{notice}");
    let html = b.get(&s.url(&to)).await.text().await.unwrap();
    assert_eq!(text_of(&html, "two-step-state"), "On");
    assert!(html.contains("2-step verification is on."), "the confirmation line");
    assert!(html.contains("id=\"offer-codes\""), "recovery codes are offered");
    assert!(audit_actions(&s).await.contains(&"two_step_enabled".to_string()));

    let (st, _) = post(&s, &b, "/two-step/off", &[("current_password", "not the password")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(text_of(&security_page(&s, &b).await, "two-step-state"), "On");
    let (st, _) = post(&s, &b, "/two-step/off", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let notice = s.sms.nth(m, before + 1).await;
    assert!(notice["text"].as_str().unwrap().contains("2-step verification was turned off"), "{notice}");
    assert_eq!(text_of(&security_page(&s, &b).await, "two-step-state"), "Off");
    assert!(audit_actions(&s).await.contains(&"two_step_disabled".to_string()));
}

#[tokio::test]
async fn r20_security_two_step_needs_a_factor_and_keeps_the_last_one() {
    let s = Server::start().await;
    // Created by the admin: its email is not verified, so it receives no codes.
    let email = "nofactor@example.com";
    s.add_user(email).await;
    let b = signed_in(&s, email).await;
    let (st, html) = post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(html.contains("Set up a second factor first"), "{html}");
    assert_eq!(text_of(&html, "two-step-state"), "Off");
    // Recovery codes alone are not enough.
    post(&s, &b, "/recovery-codes", &[("current_password", PASSWORD)]).await;
    assert_eq!(post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await.0, StatusCode::FORBIDDEN);

    let secret = start_totp(&s, &b).await;
    let code = code_at(&secret, s.clock.now()).unwrap();
    assert_eq!(post(&s, &b, "/totp/confirm", &[("code", &code)]).await.0, StatusCode::SEE_OTHER);
    let before = s.mail.count_to(email);
    assert_eq!(post(&s, &b, "/two-step/on", &[("current_password", PASSWORD)]).await.0, StatusCode::SEE_OTHER);
    assert!(s.mail.nth(email, before).await.decoded_body().contains("2-step verification was turned on"));
    let (st, html) = post(&s, &b, "/totp/remove", &[("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the only factor stays while 2-step is on");
    assert!(html.contains("turn 2-step verification off first"), "{html}");
    assert!(text_of(&html, "totp-state").starts_with("Active since"));
}

/// Posts JSON to a passkey endpoint with the CSRF token in the header.
pub(crate) async fn passkey_call(
    s: &Server,
    b: &Browser,
    csrf: Option<&str>,
    step: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = b.http.post(s.t(&format!("{SECURITY}/passkeys/{step}"))).json(&body);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// What the browser's `navigator.credentials.create` answers, at `origin`.
pub(crate) fn create(key: &mut SoftPasskey, origin: &str, options: &Value) -> Value {
    let options: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
    serde_json::to_value(key.do_registration(Url::parse(origin).unwrap(), options).unwrap()).unwrap()
}

#[tokio::test]
async fn r20_r38_security_passkey_added_listed_notified_and_removed() {
    let s = Server::start().await;
    let m = "+8613800138404";
    s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    let html = security_page(&s, &b).await;
    assert!(html.contains("No passkeys yet."));
    let csrf = field(&html, "csrf");
    let mut key = SoftPasskey::new(true);
    let password = json!({ "current_password": PASSWORD });

    assert_eq!(passkey_call(&s, &b, None, "start", password.clone()).await.0, StatusCode::FORBIDDEN, "CSRF");
    let (st, v) = passkey_call(&s, &b, Some(&csrf), "start", json!({ "current_password": "nope" })).await;
    assert_eq!((st, v["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));
    assert_eq!(
        passkey_call(&s, &s.browser(), Some(&csrf), "start", password.clone()).await.0,
        StatusCode::FORBIDDEN,
        "another browser has neither the CSRF cookie nor the session"
    );

    // A credential made for another origin (a look-alike site) is refused.
    let (st, started) = passkey_call(&s, &b, Some(&csrf), "start", password.clone()).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let mut phished = create(&mut key, &s.base, &started["options"]);
    let client_data = URL_SAFE_NO_PAD.decode(phished["response"]["clientDataJSON"].as_str().unwrap()).unwrap();
    let mut client_data: Value = serde_json::from_slice(&client_data).unwrap();
    client_data["origin"] = json!("https://latchkey.example.net");
    phished["response"]["clientDataJSON"] = json!(URL_SAFE_NO_PAD.encode(client_data.to_string()));
    let body = json!({ "ceremony": started["ceremony"], "credential": phished, "label": "x" });
    let (st, v) = passkey_call(&s, &b, Some(&csrf), "finish", body).await;
    assert!(st.is_client_error(), "{st} {v}");
    assert_eq!(v["error"], "passkey_rejected");

    // A tampered attestation is refused.
    let (_, started) = passkey_call(&s, &b, Some(&csrf), "start", password.clone()).await;
    let mut tampered = create(&mut key, &s.base, &started["options"]);
    let att = tampered["response"]["attestationObject"].as_str().unwrap().to_string();
    let flip = if att.as_bytes()[40] == b'A' { "B" } else { "A" };
    tampered["response"]["attestationObject"] = json!(format!("{}{flip}{}", &att[..40], &att[41..]));
    let body = json!({ "ceremony": started["ceremony"], "credential": tampered, "label": "x" });
    let (st, v) = passkey_call(&s, &b, Some(&csrf), "finish", body).await;
    assert!(st.is_client_error(), "{st} {v}");
    let (st, _) = passkey_call(&s, &b, Some(&csrf), "finish", json!({ "ceremony": "nope", "credential": 1 })).await;
    assert!(st.is_client_error(), "{st}");

    let (_, started) = passkey_call(&s, &b, Some(&csrf), "start", password.clone()).await;
    let credential = create(&mut key, &s.base, &started["options"]);
    let before = s.sms.count_to(m);
    let body = json!({ "ceremony": started["ceremony"], "credential": credential, "label": "My laptop" });
    let (st, v) = passkey_call(&s, &b, Some(&csrf), "finish", body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["passkey"]["label"], "My laptop");
    let notice = s.sms.nth(m, before).await;
    assert!(notice["text"].as_str().unwrap().contains("A passkey (My laptop) was added"), "{notice}");
    let (st, v) = passkey_call(&s, &b, Some(&csrf), "finish", body).await;
    assert!(st.is_client_error(), "a used ceremony is refused: {st} {v}");

    let html = security_page(&s, &b).await;
    assert!(html.contains("My laptop") && !html.contains("No passkeys yet."), "{html}");
    let id = v_id(&html);
    let (st, _) = post(&s, &b, "/passkeys/remove", &[("id", &id), ("current_password", "nope")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = post(&s, &b, "/passkeys/remove", &[("id", "unknown"), ("current_password", PASSWORD)]).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, to) = post(&s, &b, "/passkeys/remove", &[("id", &id), ("current_password", PASSWORD)]).await;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/t/t1/account/security?done=passkey_removed"));
    assert!(security_page(&s, &b).await.contains("No passkeys yet."));
    let actions = audit_actions(&s).await;
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("passkey_")).collect::<Vec<_>>(),
        ["passkey_added", "passkey_removed"]
    );
}

/// The id of the first passkey listed on the page.
fn v_id(html: &str) -> String {
    field(html.split("/passkeys/remove").nth(1).unwrap(), "id")
}

#[tokio::test]
async fn r20_security_pages_need_a_session_and_speak_chinese() {
    let s = Server::start().await;
    let r = s.browser().get(&s.t(SECURITY)).await;
    assert_eq!((r.status(), location(&r)), (StatusCode::FOUND, "/t/t1/login".to_string()));
    s.register_mobile("+8613800138405").await;
    let b = signed_in(&s, "+8613800138405").await;
    let html = b.get(&s.t(&format!("{SECURITY}?ui_locales=zh-CN"))).await.text().await.unwrap();
    assert!(html.contains("两步验证") && html.contains("通行密钥"), "{html}");
    let account = b.get(&s.t("/account")).await.text().await.unwrap();
    assert!(account.contains("/account/security"), "the account page links to the section");
    // A form without the CSRF token changes nothing.
    let r = b.post(&s.t(&format!("{SECURITY}/two-step/on")), &[("current_password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
