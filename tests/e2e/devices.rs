//! Devices (P8, R13): the device authorization grant (RFC 8628) from the device's
//! side (device authorization, polling) and the person's (the device page), and the
//! account API that binds, lists and unbinds devices.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, Server, field, no_redirects};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Registers a public device client (device grant and refresh tokens).
async fn device_client(s: &Server, id: &str) {
    s.add_client(
        id,
        json!({ "name": format!("{id} app"), "public": true, "secret": null, "redirect_uris": [],
                "post_logout_redirect_uris": [], "first_party": false,
                "grant_types": [DEVICE_GRANT, "refresh_token"] }),
    )
    .await;
}

async fn start(s: &Server, client: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![("client_id", client), ("scope", "openid email")];
    form.extend_from_slice(extra);
    let r = no_redirects().post(s.t("/device_authorization")).form(&form).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn poll(s: &Server, client: &str, device_code: &str) -> (StatusCode, Value) {
    let r = no_redirects()
        .post(s.t("/token"))
        .form(&[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client)])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn error_of(r: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (r.0, r.1["error"].as_str())
}

/// A browser signed in (no authorization flow) as `email`.
async fn signed_in(s: &Server, email: &str) -> Browser {
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", email, PASSWORD).await;
    assert!(r.status().is_redirection(), "sign-in failed: {}", r.status());
    b
}

/// Opens the verification link in `b`, checks the confirm page, and answers it.
async fn decide(b: &Browser, link: &str, decision: &str) -> (StatusCode, String) {
    let r = b.get(link).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("tv app"), "the page names the client: {html}");
    let user_code = field(&html, "user_code");
    let action = link.split('?').next().unwrap();
    let r = b.post(action, &[("csrf", &field(&html, "csrf")), ("user_code", &user_code), ("decision", decision)]).await;
    (r.status(), r.text().await.unwrap())
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn p8_device_flow_pending_slow_down_approve_tokens_once() {
    let s = Server::start().await;
    device_client(&s, "tv").await;
    let account = s.add_user("tv@example.com").await;

    let meta: Value =
        no_redirects().get(s.t("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["device_authorization_endpoint"], s.t("/device_authorization"));
    assert!(meta["grant_types_supported"].as_array().unwrap().contains(&json!(DEVICE_GRANT)));

    let (st, started) = start(&s, "tv", &[("device_name", "Living room TV")]).await;
    assert_eq!(st, StatusCode::OK, "{started}");
    let user_code = started["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 9
            && user_code.as_bytes()[4] == b'-'
            && user_code.bytes().filter(|b| *b != b'-').all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)),
        "{user_code}"
    );
    assert_eq!(started["verification_uri"], s.t("/device"));
    let link = started["verification_uri_complete"].as_str().unwrap().to_string();
    assert!(link.starts_with(&s.t("/device?user_code=")) && link.ends_with(user_code), "{link}");
    assert_eq!((started["expires_in"].as_u64(), started["interval"].as_u64()), (Some(600), Some(5)));
    let device_code = started["device_code"].as_str().unwrap();

    assert_eq!(error_of(&poll(&s, "tv", device_code).await), (StatusCode::BAD_REQUEST, Some("authorization_pending")));
    assert_eq!(error_of(&poll(&s, "tv", device_code).await), (StatusCode::BAD_REQUEST, Some("slow_down")));

    // Without a session the page asks the person to sign in first.
    let html = s.browser().get(&link).await.text().await.unwrap();
    assert!(html.contains("Sign in first") && html.contains("login"), "{html}");

    let b = signed_in(&s, "tv@example.com").await;
    let (st, html) = decide(&b, &link, "allow").await;
    assert_eq!(st, StatusCode::OK, "{html}");

    s.clock.advance(11);
    let (st, tokens) = poll(&s, "tv", device_code).await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"].as_str(), Some(account.as_str()));
    assert!(id["aud"] == json!("tv") || id["aud"] == json!(["tv"]), "{id}");
    assert_eq!(id["iss"], s.issuer());
    assert!(tokens["refresh_token"].is_string());
    let r = no_redirects()
        .get(s.t("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["sub"], account);

    s.clock.advance(11);
    assert_eq!(
        error_of(&poll(&s, "tv", device_code).await),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "single use"
    );

    // Approving bound the device to the account (R13).
    let list: Value = b.http.get(s.t("/api/account/devices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["devices"][0]["name"], "Living room TV");
    assert_eq!(
        (list["devices"][0]["kind"].as_str(), list["devices"][0]["via"].as_str()),
        (Some("direct"), Some("device_grant"))
    );
    // The code was spent: the page no longer offers it.
    assert_eq!(b.get(&link).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn p8_denied_device_gets_access_denied() {
    let s = Server::start().await;
    device_client(&s, "tv").await;
    s.add_user("deny@example.com").await;
    let (_, started) = start(&s, "tv", &[]).await;
    let b = signed_in(&s, "deny@example.com").await;
    let (st, html) = decide(&b, started["verification_uri_complete"].as_str().unwrap(), "deny").await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&s, "tv", device_code).await), (StatusCode::BAD_REQUEST, Some("access_denied")));
    let list: Value = b.http.get(s.t("/api/account/devices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0, "a denied device is not bound");
}

#[tokio::test]
async fn p8_device_code_expires() {
    let s = Server::start().await;
    device_client(&s, "tv").await;
    s.add_user("late@example.com").await;
    let (_, started) = start(&s, "tv", &[]).await;
    s.clock.advance(601);
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&s, "tv", device_code).await), (StatusCode::BAD_REQUEST, Some("expired_token")));
    let b = signed_in(&s, "late@example.com").await;
    let r = b.get(started["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an expired code cannot be approved");
    let html = b.get(&s.t("/device?ui_locales=zh-CN")).await.text().await.unwrap();
    assert!(html.contains("连接设备") && html.contains("设备代码"), "the page speaks zh-CN: {html}");
}

#[tokio::test]
async fn p8_device_code_belongs_to_its_client() {
    let s = Server::start().await;
    device_client(&s, "tv").await;
    device_client(&s, "tv2").await;
    s.add_client("web", json!({})).await;
    let (_, started) = start(&s, "tv", &[]).await;
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&s, "tv2", device_code).await), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(error_of(&poll(&s, "tv2", "not-a-code").await), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // A client without the device grant can use neither endpoint.
    let r = no_redirects()
        .post(s.t("/device_authorization"))
        .basic_auth("web", Some(crate::kit::SECRET))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    let (st, body) =
        s.token("web", crate::kit::SECRET, &[("grant_type", DEVICE_GRANT), ("device_code", device_code)]).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
}

#[tokio::test]
async fn r13_binding_api_gateways_and_sub_devices() {
    let s = Server::start().await;
    s.add_user("iot@example.com").await;
    let b = signed_in(&s, "iot@example.com").await;
    let bind = |body: Value| {
        let b = &b;
        let url = s.t("/api/account/devices");
        async move {
            let r = b.http.post(url).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, gw) = bind(json!({ "device_id": "gw-1", "name": "Hub", "kind": "gateway" })).await;
    assert_eq!(st, StatusCode::CREATED, "{gw}");
    assert_eq!(gw["via"], "api");
    for id in ["lamp-1", "lamp-2"] {
        let (st, body) =
            bind(json!({ "device_id": id, "name": "Lamp", "kind": "sub_device", "gateway": "gw-1" })).await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }
    let (st, body) =
        bind(json!({ "device_id": "lamp-3", "name": "Lamp", "kind": "sub_device", "gateway": "gw-9" })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{body}");
    let (st, body) = bind(json!({ "device_id": "lamp-3", "name": "Lamp", "kind": "sub_device" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, _) = bind(json!({ "device_id": "lamp-1", "name": "Again", "kind": "direct" })).await;
    assert_eq!(st, StatusCode::CONFLICT);

    let list: Value = b.http.get(s.t("/api/account/devices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 3, "sub-devices count: {list}");
    assert_eq!(list["devices"].as_array().unwrap().len(), 3);

    // Another account sees none of them and cannot hang a sub-device on this gateway.
    s.add_user("other@example.com").await;
    let other = signed_in(&s, "other@example.com").await;
    let r = other
        .http
        .post(s.t("/api/account/devices"))
        .json(&json!({ "device_id": "x", "name": "X", "kind": "sub_device", "gateway": "gw-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let list: Value = other.http.get(s.t("/api/account/devices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0);

    // A gateway goes after its sub-devices.
    let del = |id: &str| b.http.delete(s.t(&format!("/api/account/devices/{id}"))).send();
    assert_eq!(del("gw-1").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(del("lamp-1").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(del("lamp-2").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(del("gw-1").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(del("gw-1").await.unwrap().status(), StatusCode::NOT_FOUND);
    let list: Value = b.http.get(s.t("/api/account/devices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["count"], 0);

    // Without a session or token: 401.
    let r = no_redirects().get(s.t("/api/account/devices")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
