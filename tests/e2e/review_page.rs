//! The developer review page for admins (R12): admin sign-in by token into a
//! SameSite=Strict cookie, the list of pending submissions, Approve and Reject with a
//! reason, each form guarded by the CSRF token.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, Server, field, location};

/// Registers an account, signs it in and submits personal developer details;
/// returns the account id and the developer's browser.
async fn submitted(s: &Server, mobile: &str, name: &str) -> (String, Browser) {
    let id = s.register_mobile(mobile).await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", mobile, PASSWORD).await;
    assert!(r.status().is_redirection() || r.status() == StatusCode::OK, "{}", r.status());
    let body =
        json!({ "developer_type": "personal", "fields": { "real_name": name, "id_number": "110101199001011234" } });
    let r = b.http.post(s.t("/api/account/developer")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (id, b)
}

async fn developer(b: &Browser, s: &Server) -> Value {
    b.http.get(s.t("/api/account/developer")).send().await.unwrap().json().await.unwrap()
}

/// An admin browser signed in on `/admin/login`; returns it and the reviews page path.
async fn admin(s: &Server) -> (Browser, String) {
    let page = format!("/admin/t/{}/reviews", s.tenant);
    let a = s.browser();
    let html = a.get(&format!("/admin/login?next={page}")).await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let r = a.post("/admin/login", &[("csrf", &csrf), ("next", &page), ("token", &s.running.admin_token)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), page);
    (a, page)
}

#[tokio::test]
async fn r12_admin_page_lists_pending_submissions_and_approves_or_rejects() {
    let s = Server::start().await;
    let (first, dev1) = submitted(&s, "+8613800138401", "Li Lei").await;
    let (second, dev2) = submitted(&s, "+8613800138402", "Han Meimei").await;
    let page = format!("/admin/t/{}/reviews", s.tenant);

    // Without the admin session the page sends the browser to sign in.
    let a = s.browser();
    let r = a.get(&page).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(location(&r).starts_with("/admin/login?next="), "{}", location(&r));

    // A wrong token is refused and sets no admin session.
    let html = a.get("/admin/login").await.text().await.unwrap();
    let csrf = field(&html, "csrf");
    let r = a.post("/admin/login", &[("csrf", &csrf), ("token", "not-the-token")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("lk_admin=")));
    assert_eq!(a.get(&page).await.status(), StatusCode::FOUND);

    // The right token: a Strict, HttpOnly cookie that is not the token itself.
    let r = a.post("/admin/login", &[("csrf", &csrf), ("next", &page), ("token", &s.running.admin_token)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), page);
    let set = r.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let admin_cookie = set.iter().find(|c| c.starts_with("lk_admin=")).expect("admin cookie");
    assert!(admin_cookie.contains("HttpOnly") && admin_cookie.contains("SameSite=Strict"), "{admin_cookie}");
    assert!(admin_cookie.contains("Path=/admin"), "{admin_cookie}");
    assert!(!admin_cookie.contains(&s.running.admin_token), "the raw token never sits in a cookie");

    let r = a.get(&page).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    for id in [&first, &second] {
        assert!(html.contains(&format!("reviews/{id}/approve")), "{html}");
        assert!(html.contains(&format!("reviews/{id}/reject")), "{html}");
    }
    assert!(html.contains("Li Lei") && html.contains("Han Meimei") && html.contains("Personal"), "{html}");
    let csrf = field(&html, "csrf");

    // Approve the first.
    let r = a.post(&format!("{page}/{first}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), format!("{page}?done=approved"));
    let html = a.get(&location(&r)).await.text().await.unwrap();
    assert!(html.contains("The submission was approved."), "{html}");
    assert!(!html.contains(&format!("reviews/{first}/approve")), "an approved submission leaves the list");

    // Rejecting needs a reason; then reject the second with one.
    let r = a.post(&format!("{page}/{second}/reject"), &[("csrf", &csrf), ("reason", "  ")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let reason = "The ID number does not match the name";
    let r = a.post(&format!("{page}/{second}/reject"), &[("csrf", &csrf), ("reason", reason)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), format!("{page}?done=rejected"));
    let html = a.get(&location(&r)).await.text().await.unwrap();
    assert!(html.contains("The submission was rejected."), "{html}");
    assert!(html.contains("No submissions are waiting for review."), "{html}");

    // A decided submission cannot be decided again.
    let r = a.post(&format!("{page}/{first}/reject"), &[("csrf", &csrf), ("reason", "late")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The developers see the decisions.
    let v = developer(&dev1, &s).await;
    assert_eq!(v["status"], "approved", "{v}");
    let v = developer(&dev2, &s).await;
    assert_eq!((v["status"].as_str(), v["reason"].as_str()), (Some("rejected"), Some(reason)), "{v}");
}

#[tokio::test]
async fn r12_admin_page_refuses_forms_without_the_csrf_token() {
    let s = Server::start().await;
    let (id, dev) = submitted(&s, "+8613800138403", "Li Lei").await;
    let (a, page) = admin(&s).await;
    let html = a.get(&page).await.text().await.unwrap();
    assert!(html.contains(&id), "{html}");

    let r = a.post(&format!("{page}/{id}/approve"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = a.post(&format!("{page}/{id}/reject"), &[("csrf", "forged"), ("reason", "no")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = a.post("/admin/login", &[("token", &s.running.admin_token)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the sign-in form needs the token too");
    assert_eq!(developer(&dev, &s).await["status"], "pending", "nothing was decided");

    // And a form with the token but no admin session is sent to sign in.
    let other = s.browser();
    let csrf = field(&other.get("/admin/login").await.text().await.unwrap(), "csrf");
    let r = other.post(&format!("{page}/{id}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(location(&r).starts_with("/admin/login"));
    assert_eq!(developer(&dev, &s).await["status"], "pending");
}
