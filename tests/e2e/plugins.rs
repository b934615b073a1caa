//! Tenant policy plugins end to end (W1 to W6): real components built from
//! `plugins/` by build.rs, installed through the admin API, called by the server.

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{PASSWORD, Server};

/// A plugin built by build.rs (`registration_rules`, `hostile_spin`, ...).
pub fn wasm(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}.wasm", env!("LATCHKEY_PLUGIN_DIR"))).unwrap()
}

async fn install(s: &Server, tenant: &str, name: &str, config: Value) -> (StatusCode, Value) {
    let body = json!({ "wasm": base64::engine::general_purpose::STANDARD.encode(wasm(name)), "config": config });
    let r = s.admin.post(s.url(&format!("/admin/tenants/{tenant}/plugins"))).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Asks for a registration code and registers by mobile; returns the answer.
async fn register(s: &Server, mobile: &str) -> (StatusCode, Value) {
    let code = s.sms_code(mobile, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": mobile }))).await;
    s.api("/api/register", json!({ "by": "mobile", "mobile": mobile, "password": PASSWORD, "code": code })).await
}

async fn register_name(s: &Server, name: &str, mobile: &str) -> (StatusCode, Value) {
    let code = s.sms_code(mobile, s.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": mobile }))).await;
    s.api("/api/register", json!({ "by": "name", "name": name, "mobile": mobile, "password": PASSWORD, "code": code })).await
}

#[tokio::test]
async fn w6_bundled_plugins_are_active_in_the_default_tenant() {
    let s = Server::start().await;
    let list: Vec<Value> = s.admin.get(s.url("/admin/tenants/default/plugins")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["registration-rules", "developer-type", "device-cap"]);
    assert_eq!(list[0]["hooks"], json!(["registration", "password"]));
    // The default tenant refuses a reserved account name through the plugin.
    let m = "+8613800138301";
    let code = s.sms_code(m, async {
        let r = crate::kit::no_redirects()
            .post(s.url("/t/default/api/codes"))
            .json(&json!({ "purpose": "register", "channel": "sms", "to": m }))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    })
    .await;
    let r = crate::kit::no_redirects()
        .post(s.url("/t/default/api/register"))
        .json(&json!({ "by": "name", "name": "admin", "mobile": m, "password": PASSWORD, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["reason"].as_str()), (Some("policy_denied"), Some("account_name_reserved")));
}

#[tokio::test]
async fn w1_w2_w4_a_denial_reaches_the_user_and_hot_swaps_change_behaviour_without_restart() {
    let s = Server::start().await;
    let t = s.tenant.clone();
    let (st, p) = install(&s, &t, "registration_rules", json!({ "denied_mobile_prefixes": ["+86141"] })).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["name"], "registration-rules");
    let (st, body) = register(&s, "+8614100000001").await;
    assert_eq!((st, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("mobile_range_not_allowed")), "{body}");
    assert_eq!(body["error_description"], "This mobile number range cannot register.", "the plugin's message reaches the user");
    let users: Vec<Value> = s.admin.get(s.url(&format!("/admin/tenants/{t}/users"))).send().await.unwrap().json().await.unwrap();
    assert!(users.is_empty(), "a denial changes nothing");
    // Reconfigure: the same number now registers.
    let r = s.admin.put(s.url(&format!("/admin/tenants/{t}/plugins/registration-rules/config"))).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    s.clock.advance(61);
    let (st, body) = register(&s, "+8614100000001").await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    // Installing under the same name replaces it; a second plugin joins the chain
    // after it, and the first deny wins.
    install(&s, &t, "registration_rules", json!({ "reserved_account_names": ["root"] })).await;
    install(&s, &t, "hostile_trap", json!({})).await;
    let list: Vec<Value> = s.admin.get(s.url(&format!("/admin/tenants/{t}/plugins"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 2);
    let (st, body) = register_name(&s, "root", "+8613800138302").await;
    assert_eq!((st, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("account_name_reserved")));
    // Removal: the trap is now first and fails closed; removing it too allows again.
    let r = s.admin.delete(s.url(&format!("/admin/tenants/{t}/plugins/registration-rules"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    s.clock.advance(61);
    let (st, body) = register_name(&s, "root", "+8613800138302").await;
    assert_eq!((st, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("policy_error")));
    s.admin.delete(s.url(&format!("/admin/tenants/{t}/plugins/hostile-trap"))).send().await.unwrap();
    s.clock.advance(61);
    let (st, _) = register_name(&s, "root", "+8613800138302").await;
    assert_eq!(st, StatusCode::CREATED);
}

#[tokio::test]
async fn w3_hostile_plugins_fail_closed_within_the_deadline_while_another_tenant_serves() {
    let s = Server::start().await;
    let other = s.add_tenant("calm").await;
    for (i, hostile) in ["hostile_spin", "hostile_memory_bomb", "hostile_trap", "hostile_huge_output", "hostile_unknown_import"].iter().enumerate() {
        let (st, p) = install(&s, &s.tenant, hostile, json!({})).await;
        assert_eq!(st, StatusCode::CREATED, "{hostile}: {p}");
        let mobile = format!("+861380013840{i}");
        let started = Instant::now();
        let (st, body) = register(&s, &mobile).await;
        assert_eq!((st, body["reason"].as_str()), (StatusCode::FORBIDDEN, Some("policy_error")), "{hostile}: {body}");
        assert!(started.elapsed() < Duration::from_secs(3), "{hostile} took {:?}", started.elapsed());
        // The other tenant is unaffected.
        let code = s.sms_code(&mobile.replace("+86138", "+86139"), async {
            let r = crate::kit::no_redirects()
                .post(s.url(&format!("/t/{other}/api/codes")))
                .json(&json!({ "purpose": "register", "channel": "sms", "to": mobile.replace("+86138", "+86139") }))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        })
        .await;
        let r = crate::kit::no_redirects()
            .post(s.url(&format!("/t/{other}/api/register")))
            .json(&json!({ "by": "mobile", "mobile": mobile.replace("+86138", "+86139"), "password": PASSWORD, "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{hostile}: the other tenant keeps serving");
        let name = p["name"].as_str().unwrap();
        s.admin.delete(s.url(&format!("/admin/tenants/{}/plugins/{name}", s.tenant))).send().await.unwrap();
    }
}

#[tokio::test]
async fn w3_things_that_are_not_plugins_are_refused_at_install() {
    let s = Server::start().await;
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    for bytes in [b"not wasm at all".to_vec(), core_module] {
        let body = json!({ "wasm": base64::engine::general_purpose::STANDARD.encode(&bytes) });
        let r = s.admin.post(s.url(&format!("/admin/tenants/{}/plugins", s.tenant))).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_input");
    }
    let (st, _) = install(&s, &s.tenant, "device_cap", json!("not an object")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let list: Vec<Value> = s.admin.get(s.url(&format!("/admin/tenants/{}/plugins", s.tenant))).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty());
}

#[tokio::test]
async fn w4_install_and_remove_while_requests_run_never_fail_open_or_500() {
    let s = Server::start().await;
    let t = s.tenant.clone();
    let api = s.t("/api/register");
    let load = tokio::spawn(async move {
        let http = crate::kit::no_redirects();
        let mut statuses = Vec::new();
        for i in 0..60 {
            let body = json!({ "by": "mobile", "mobile": format!("+86141000{i:05}"), "password": PASSWORD, "code": "000000" });
            let r = http.post(&api).json(&body).send().await.unwrap();
            statuses.push(r.status());
        }
        statuses
    });
    for _ in 0..5 {
        install(&s, &t, "registration_rules", json!({ "denied_mobile_prefixes": ["+86141"] })).await;
        s.admin.delete(s.url(&format!("/admin/tenants/{t}/plugins/registration-rules"))).send().await.unwrap();
    }
    let statuses = load.await.unwrap();
    // Without a plugin the (wrong) code fails (400); with it the range is refused (403).
    assert!(statuses.iter().all(|s| *s == StatusCode::BAD_REQUEST || *s == StatusCode::FORBIDDEN), "{statuses:?}");
}
