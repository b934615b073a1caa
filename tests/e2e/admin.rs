//! The admin API: tenants, clients and users, and uniqueness under concurrency.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{PASSWORD, REDIRECT, Server};

#[tokio::test]
async fn r6_twenty_parallel_user_adds_of_one_email_make_exactly_one_account() {
    let s = Server::start().await;
    let users = s.url(&format!("/admin/tenants/{}/users", s.tenant));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (admin, users) = (s.admin.clone(), users.clone());
            let email = if i % 2 == 0 { "Same@Example.com" } else { "same@example.com" };
            tokio::spawn(async move {
                admin.post(users).json(&json!({ "email": email, "password": PASSWORD })).send().await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19);
    let listed: Vec<Value> = s.admin.get(&users).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["email"], "same@example.com", "emails are lowercased");
}

#[tokio::test]
async fn generated_client_secret_is_shown_once_and_works() {
    let s = Server::start().await;
    let clients = s.url(&format!("/admin/tenants/{}/clients", s.tenant));
    let created: Value = s
        .admin
        .post(&clients)
        .json(&json!({ "id": "gen", "grant_types": ["client_credentials"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["client_secret"].as_str().expect("generated secret shown");
    let listed: Vec<Value> = s.admin.get(&clients).send().await.unwrap().json().await.unwrap();
    assert!(listed[0].get("client_secret").is_none(), "never shown again");
    assert!(!serde_json::to_string(&listed).unwrap().contains(secret));
    let (st, _) = s.token("gen", secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(st, StatusCode::OK);
    let r = s
        .admin
        .post(&clients)
        .json(&json!({ "id": "gen", "grant_types": ["client_credentials"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = s.admin.delete(format!("{clients}/gen")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (st, _) = s.token("gen", secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a removed client cannot authenticate");
}

#[tokio::test]
async fn tenants_are_unique_and_validated() {
    let s = Server::start().await;
    let r = s.admin.post(s.url("/admin/tenants")).json(&json!({ "id": s.tenant })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = s.admin.post(s.url("/admin/tenants")).json(&json!({ "id": "Bad/Id" })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s
        .admin
        .post(s.url("/admin/tenants/nope/clients"))
        .json(&json!({ "id": "x", "redirect_uris": [REDIRECT] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tenant_files_declare_tenants_and_clients_at_start() {
    let file = r#"
        id = "acme"
        display_name = "Acme Cloud"
        [[clients]]
        id = "console"
        secret = "0123456789abcdef-test-secret"
        grant_types = ["client_credentials"]
    "#;
    let s = Server::start_with_tenant_files(&[("acme.toml", file), ("ignored.toml.sample", "not toml at all")]).await;
    let tenants: Vec<Value> = s.admin.get(s.url("/admin/tenants")).send().await.unwrap().json().await.unwrap();
    assert!(tenants.iter().any(|t| t["id"] == "acme" && t["display_name"] == "Acme Cloud"));
    let r = crate::kit::no_redirects()
        .post(s.url("/t/acme/token"))
        .basic_auth("console", Some(crate::kit::SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
