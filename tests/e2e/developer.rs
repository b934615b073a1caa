//! Developer profiles (R11 to R14): submission per type, review through the admin API
//! and the CLI, the page, read-only after approval, claims in ID token and userinfo.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, REDIRECT, SECRET, Server, field, location, no_redirects, query};

const DEV: &str = "/api/account/developer";

fn enterprise() -> Value {
    json!({
        "company_name": "Acme IoT Ltd", "address": "1 Keji Road, Shenzhen",
        "contact_number": "+8675512345678", "licence_number": "91440300MA5XXXXX1",
    })
}

/// A browser signed in to the test tenant (no authorization flow).
async fn signed_in(s: &Server, identifier: &str) -> Browser {
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", identifier, PASSWORD).await;
    assert!(r.status().is_redirection() || r.status() == StatusCode::OK, "{}", r.status());
    b
}

async fn get(b: &Browser, s: &Server) -> (StatusCode, Value) {
    let r = b.http.get(s.t(DEV)).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn post(b: &Browser, s: &Server, body: Value) -> (StatusCode, Value) {
    let r = b.http.post(s.t(DEV)).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn review(s: &Server, account: &str, action: &str, body: Value) -> (StatusCode, Value) {
    let url = s.url(&format!("/admin/tenants/{}/reviews/{account}/{action}", s.tenant));
    let r = s.admin.post(url).json(&body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn pending(s: &Server) -> Vec<String> {
    let r = s.admin.get(s.url(&format!("/admin/tenants/{}/reviews", s.tenant))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v.as_array().unwrap().iter().map(|x| x["account_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn r11_enterprise_submission_needs_every_field_of_its_type() {
    let s = Server::start().await;
    let m = "+8613800138301";
    s.register_mobile(m).await;
    assert_eq!(get(&s.browser(), &s).await.0, StatusCode::UNAUTHORIZED, "signed-in developers only");
    let b = signed_in(&s, m).await;
    let (st, v) = get(&b, &s).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!((v["status"].as_str(), v["editable"].as_bool()), (Some("not_submitted"), Some(true)));
    let types: Vec<&str> = v["types"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(types, ["enterprise", "personal"]);

    let mut missing = enterprise();
    missing.as_object_mut().unwrap().remove("licence_number");
    let (st, body) = post(&b, &s, json!({ "developer_type": "enterprise", "fields": missing })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("licence_number"), "{body}");
    let mut long = enterprise();
    long["address"] = json!("x".repeat(201));
    assert_eq!(
        post(&b, &s, json!({ "developer_type": "enterprise", "fields": long })).await.0,
        StatusCode::BAD_REQUEST
    );
    let mut extra = enterprise();
    extra["real_name"] = json!("Li Lei");
    assert_eq!(
        post(&b, &s, json!({ "developer_type": "enterprise", "fields": extra })).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&b, &s, json!({ "developer_type": "company", "fields": enterprise() })).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(get(&b, &s).await.1["status"], "not_submitted", "a refused submission changes nothing");
    assert!(pending(&s).await.is_empty());

    let (st, v) = post(&b, &s, json!({ "developer_type": "enterprise", "fields": enterprise() })).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("pending")), "{v}");
    assert_eq!(v["fields"]["company_name"], "Acme IoT Ltd");
}

#[tokio::test]
async fn r11_the_tenant_names_the_types_and_their_fields() {
    let s = Server::start().await;
    s.settings(json!({ "developer": { "types": [{ "name": "maker", "fields": ["nickname"] }] } })).await;
    let m = "+8613800138302";
    s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    assert_eq!(
        post(&b, &s, json!({ "developer_type": "personal", "fields": { "real_name": "A", "id_number": "1" } })).await.0,
        StatusCode::BAD_REQUEST
    );
    let (st, v) = post(&b, &s, json!({ "developer_type": "maker", "fields": { "nickname": "ada" } })).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("pending")), "{v}");
}

#[tokio::test]
async fn r12_rejected_developer_sees_the_reason_edits_resubmits_and_is_locked_once_approved() {
    let s = Server::start().await;
    let m = "+8613800138303";
    let id = s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    let (st, _) = post(
        &b,
        &s,
        json!({ "developer_type": "personal", "fields": { "real_name": "Li Lei", "id_number": "110101199001011234" } }),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(pending(&s).await, std::slice::from_ref(&id));

    // The admin API wants the admin token.
    let url = s.url(&format!("/admin/tenants/{}/reviews", s.tenant));
    assert_eq!(
        no_redirects().get(&url).bearer_auth("not-the-token").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let r = no_redirects().post(format!("{url}/{id}/approve")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let (st, body) = review(&s, &id, "reject", json!({ "reason": "  " })).await;
    assert_eq!((st, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")), "a reason is required");
    let (st, body) = review(&s, &id, "reject", json!({ "reason": "x".repeat(501) })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let reason = "The ID number does not match the name";
    let (st, body) = review(&s, &id, "reject", json!({ "reason": reason, "reviewer": "alice" })).await;
    assert_eq!(
        (st, body["status"].as_str(), body["decided_by"].as_str()),
        (StatusCode::OK, Some("rejected"), Some("alice")),
        "{body}"
    );
    assert!(pending(&s).await.is_empty());
    let (st, _) = review(&s, &id, "approve", json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "only a pending submission is decided");

    // A rejected developer still signs in, sees the reason (API and page) and resubmits.
    let b = signed_in(&s, m).await;
    let (_, v) = get(&b, &s).await;
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str(), v["editable"].as_bool()),
        (Some("rejected"), Some(reason), Some(true))
    );
    let html = b.get(&s.t("/account/developer")).await.text().await.unwrap();
    assert!(html.contains(reason) && html.contains("data-status=\"rejected\""), "{html}");
    let zh = b.get(&s.t("/account/developer?ui_locales=zh-CN")).await.text().await.unwrap();
    assert!(zh.contains("未通过") && zh.contains("企业开发者"), "zh-CN page");
    // Resubmit as enterprise through the page form (CSRF token from the page).
    let csrf = field(&html, "csrf");
    let e = enterprise();
    let form: Vec<(String, String)> =
        [("csrf".to_string(), csrf.clone()), ("developer_type".into(), "enterprise".into())]
            .into_iter()
            .chain(e.as_object().unwrap().iter().map(|(k, v)| (format!("field.{k}"), v.as_str().unwrap().to_string())))
            .collect();
    let mut short = form.clone();
    short.retain(|(k, _)| k != "field.address");
    let r = b.http.post(s.t("/account/developer")).form(&short).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a missing field is refused on the page too");
    assert!(r.text().await.unwrap().contains("Acme IoT Ltd"), "the page keeps what was typed");
    let r = b.http.post(s.t("/account/developer")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    assert!(location(&r).ends_with("/account/developer?done=submitted"));
    let (_, v) = get(&b, &s).await;
    assert_eq!(
        (v["status"].as_str(), v["developer_type"].as_str(), v.get("reason")),
        (Some("pending"), Some("enterprise"), None)
    );

    let (st, body) = review(&s, &id, "approve", json!({})).await;
    assert_eq!(
        (st, body["status"].as_str(), body["decided_by"].as_str()),
        (StatusCode::OK, Some("approved"), Some("admin")),
        "{body}"
    );
    let (_, v) = get(&b, &s).await;
    assert_eq!((v["status"].as_str(), v["editable"].as_bool()), (Some("approved"), Some(false)));

    // Approved: the identity fields are read-only (API and page).
    let mut changed = enterprise();
    changed["company_name"] = json!("Another Co");
    let (st, body) = post(&b, &s, json!({ "developer_type": "enterprise", "fields": changed })).await;
    assert_eq!(
        (st, body["error"].as_str(), body["reason"].as_str()),
        (StatusCode::FORBIDDEN, Some("policy_denied"), Some("identity_locked")),
        "{body}"
    );
    let r = b.http.post(s.t("/account/developer")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = b.get(&s.t("/account/developer")).await.text().await.unwrap();
    assert!(!html.contains("name=\"developer_type\""), "no form once approved");
    assert_eq!(get(&b, &s).await.1["fields"]["company_name"], "Acme IoT Ltd");
}

/// Signs `mobile` in to client `dev` with `scope` and exchanges the code.
async fn tokens(s: &Server, mobile: &str, scope: &str) -> Value {
    let url = format!("{}?response_type=code&client_id=dev&redirect_uri={REDIRECT}&scope={scope}", s.t("/authorize"));
    let back = s.browser().authorize_with_login(&s.issuer(), &url, mobile).await;
    let (st, body) = s
        .token(
            "dev",
            SECRET,
            &[("grant_type", "authorization_code"), ("code", &query(&back)["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body
}

fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn userinfo(s: &Server, at: &str) -> Value {
    let r = no_redirects().get(s.t("/userinfo")).bearer_auth(at).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn r14_type_review_state_and_entitlements_are_claims() {
    let s = Server::start().await;
    s.add_client("dev", json!({})).await;
    let discovery: Value =
        no_redirects().get(s.t("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert!(discovery["scopes_supported"].as_array().unwrap().contains(&json!("developer")));
    let (personal, enterprise_m) = ("+8613800138304", "+8613800138305");
    let pid = s.register_mobile(personal).await;
    let eid = s.register_mobile(enterprise_m).await;

    let t = tokens(&s, personal, "openid%20developer").await;
    let id = payload(t["id_token"].as_str().unwrap());
    assert_eq!((id["review_status"].as_str(), &id["developer_type"]), (Some("not_submitted"), &Value::Null), "{id}");

    let b = signed_in(&s, personal).await;
    post(&b, &s, json!({ "developer_type": "personal", "fields": { "real_name": "Li Lei", "id_number": "1101" } }))
        .await;
    let t = tokens(&s, personal, "openid%20developer").await;
    assert_eq!(userinfo(&s, t["access_token"].as_str().unwrap()).await["review_status"], "pending");
    review(&s, &pid, "approve", json!({})).await;

    let t = tokens(&s, personal, "openid%20developer").await;
    let id = payload(t["id_token"].as_str().unwrap());
    let want = json!({ "developer_type": "personal", "review_status": "approved", "device_quota": 300, "developer_support": false });
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&id[k], v, "ID token {k}: {id}");
    }
    let ui = userinfo(&s, t["access_token"].as_str().unwrap()).await;
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&ui[k], v, "userinfo {k}: {ui}");
    }

    // profile releases them too; enterprise is unlimited (null) with support.
    let b = signed_in(&s, enterprise_m).await;
    post(&b, &s, json!({ "developer_type": "enterprise", "fields": enterprise() })).await;
    review(&s, &eid, "approve", json!({})).await;
    let t = tokens(&s, enterprise_m, "openid%20profile").await;
    let id = payload(t["id_token"].as_str().unwrap());
    assert_eq!(
        (id["developer_type"].as_str(), &id["device_quota"], &id["developer_support"]),
        (Some("enterprise"), &Value::Null, &json!(true)),
        "{id}"
    );
    assert!(id.as_object().unwrap().contains_key("device_quota"), "null means unlimited, and is present");

    // Without profile or developer: no developer claims.
    let t = tokens(&s, enterprise_m, "openid%20email").await;
    let id = payload(t["id_token"].as_str().unwrap());
    assert!(id.get("review_status").is_none(), "{id}");
    assert!(userinfo(&s, t["access_token"].as_str().unwrap()).await.get("review_status").is_none());
}

#[tokio::test]
async fn r12_review_from_the_cli() {
    let s = Server::start().await;
    let m = "+8613800138306";
    let id = s.register_mobile(m).await;
    let b = signed_in(&s, m).await;
    post(&b, &s, json!({ "developer_type": "personal", "fields": { "real_name": "Li Lei", "id_number": "1101" } }))
        .await;
    let cli = |args: Vec<String>| {
        let (base, token) = (s.base.clone(), s.running.admin_token.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
                .args(["--url", &base, &format!("--token={token}"), "review"])
                .args(args)
                .output()
                .unwrap()
        })
    };
    let t = s.tenant.clone();
    let out = cli(vec!["list".into(), "--tenant".into(), t.clone()]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    let out = cli(vec![
        "reject".into(),
        "--tenant".into(),
        t.clone(),
        "--account".into(),
        id.clone(),
        "--reason".into(),
        "blurred".into(),
    ])
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(get(&b, &s).await.1["reason"], "blurred");
    let out = cli(vec!["approve".into(), "--tenant".into(), t.clone(), "--account".into(), id.clone()]).await.unwrap();
    assert!(!out.status.success(), "a rejected submission is not pending");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    post(&b, &s, json!({ "developer_type": "personal", "fields": { "real_name": "Li Lei", "id_number": "1102" } }))
        .await;
    let out = cli(vec!["approve".into(), "--tenant".into(), t, "--account".into(), id]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(get(&b, &s).await.1["status"], "approved");
}
