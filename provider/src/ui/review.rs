//! The developer review page for admins (R12): `/admin/login` takes the admin token
//! and starts an admin page session (O4: a random cookie value whose digest is
//! stored, ending after 8 hours or at `/admin/logout`); `/admin/t/{tenant}/reviews` lists the pending submissions, each with
//! Approve and Reject (with a reason) forms that post back and return with a
//! confirmation.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::developer::Submission;
use latchkey_core::secret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::ui::account::when;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::extract::CsrfForm;
use crate::web::http::{FormBody, cookie};
use crate::web::page::Page;
use crate::web::respond;

/// Who decisions made on this page are recorded as (`decided_by`).
const REVIEWER: &str = "admin";

/// True if the browser holds a live admin page session.
async fn is_admin(svc: &Services, headers: &HeaderMap) -> ApiResult<bool> {
    match cookie(headers, cookies::ADMIN) {
        Some(c) => Ok(svc.admin_sessions.valid(&c).await?),
        None => Ok(false),
    }
}

/// The admin-session `Set-Cookie`: HttpOnly, SameSite=Strict (the page acts with
/// admin rights, so no other site's link or form carries it), Path=/admin, Secure
/// under https, ending with the session (`max_age`; 0 deletes it).
fn admin_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let mut c = format!("{}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}", cookies::ADMIN);
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The reviews page of `tenant`, the only place a sign-in may lead back to.
fn reviews_path(tenant: &str) -> String {
    format!("/admin/t/{tenant}/reviews")
}

/// `Some(next)` if `next` is an admin page path; anything else is dropped so the
/// sign-in cannot send the admin elsewhere.
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?;
    let inside = next.starts_with("/admin/t/")
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !next.contains("/../")
        && !next.contains("//")
        && !next.contains('\\');
    inside.then(|| next.to_string())
}

/// The answer that sends a browser without the admin session to sign in.
fn to_login(page: &Page, next: &str) -> Response {
    let next = url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
    respond::found(&page.keep_locale(&format!("/admin/login?next={next}")))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    ui_locales: Option<String>,
}

fn login_page(svc: &Services, page: &Page, status: StatusCode, next: Option<String>, error: Option<&str>) -> Response {
    page.render(svc, status, "review.html", json!({ "login": true, "next": next, "error": error }))
}

async fn login_form(State(svc): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    login_page(&svc, &page, StatusCode::OK, safe_next(q.next.as_deref()), None)
}

/// Checks the admin token as the admin API does, then sets the admin session.
async fn login(
    State(svc): State<AppState>,
    CsrfForm { page, form }: CsrfForm<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let next = safe_next(form.get("next").map(String::as_str));
    let token = form.get("token").map(String::as_str).unwrap_or("");
    if token.is_empty() || !secret::eq(&secret::digest(token), &svc.admin_token_digest) {
        let error = page.text("review_token_wrong");
        return Ok(login_page(&svc, &page, StatusCode::UNAUTHORIZED, next, Some(error)));
    }
    let (value, age) = svc.admin_sessions.sign_in().await?;
    let mut resp = match next {
        Some(to) => respond::found(&page.keep_locale(&to)),
        None => page.message(&svc, StatusCode::OK, "review_title", page.text("review_signed_in"), None),
    };
    resp.headers_mut().append(header::SET_COOKIE, admin_cookie(&value, age, svc.secure_cookies));
    Ok(resp)
}

/// Ends the admin page session (a form with the CSRF token) and forgets its cookie.
async fn logout(
    State(svc): State<AppState>,
    headers: HeaderMap,
    CsrfForm { page, .. }: CsrfForm<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    if let Some(c) = cookie(&headers, cookies::ADMIN) {
        svc.admin_sessions.sign_out(&c).await?;
    }
    let mut resp = login_page(&svc, &page, StatusCode::OK, None, None);
    resp.headers_mut().append(header::SET_COOKIE, admin_cookie("", 0, svc.secure_cookies));
    Ok(resp)
}

#[derive(Deserialize)]
struct ReviewsQuery {
    /// What was just done (`approved`, `rejected`), for the confirmation line.
    done: Option<String>,
    ui_locales: Option<String>,
}

/// A localized label for `key`, or `fallback` for the tenant's own names.
fn label(page: &Page, key: &str, fallback: &str) -> String {
    match page.text(key) {
        "" => fallback.to_string(),
        t => t.to_string(),
    }
}

/// Renders the list of pending submissions, with a confirmation or an error.
async fn render(
    svc: &Services,
    page: &Page,
    tenant: &str,
    status: StatusCode,
    info: Option<&str>,
    error: Option<&str>,
) -> ApiResult<Response> {
    let pending: Vec<Submission> = svc.developers.list_pending(tenant).await?;
    let items: Vec<Value> = pending
        .iter()
        .map(|s| {
            let fields: Vec<Value> = s
                .fields
                .iter()
                .map(|(k, v)| json!({ "label": label(page, &format!("dev_field_{k}"), k), "value": v }))
                .collect();
            let type_text = s.developer_type.as_deref().map(|n| label(page, &format!("dev_type_{n}"), n));
            json!({
                "account_id": s.account_id, "type_text": type_text, "fields": fields,
                "submitted_at": s.submitted_at.map(when).unwrap_or_default(),
            })
        })
        .collect();
    Ok(page.render(
        svc,
        status,
        "review.html",
        json!({ "login": false, "tenant": tenant, "items": items, "info": info, "error": error, "base": reviews_path(tenant) }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ReviewsQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    if !is_admin(&svc, &headers).await? {
        return Ok(to_login(&page, &reviews_path(&tenant)));
    }
    svc.tenants.get(&tenant).await?;
    let info = match q.done.as_deref() {
        Some("approved") => Some(page.text("review_approved")),
        Some("rejected") => Some(page.text("review_rejected")),
        _ => None,
    };
    render(&svc, &page, &tenant, StatusCode::OK, info, None).await
}

/// A decision taken on the page.
enum Action {
    Approve,
    Reject,
}

async fn decide(
    svc: &Services,
    tenant: &str,
    account_id: &str,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
    action: Action,
) -> ApiResult<Response> {
    let page = Page::new(headers, form.get("ui_locales").map(String::as_str));
    if !Page::csrf_ok(headers, form.get("csrf").map(String::as_str)) {
        return Ok(page.csrf_refused(svc));
    }
    if !is_admin(svc, headers).await? {
        return Ok(to_login(&page, &reviews_path(tenant)));
    }
    svc.tenants.get(tenant).await?;
    let (result, done) = match action {
        Action::Approve => (svc.developers.approve_durably(tenant, account_id, REVIEWER).await, "approved"),
        Action::Reject => {
            let reason = form.get("reason").map(String::as_str).unwrap_or("");
            (svc.developers.reject_durably(tenant, account_id, REVIEWER, reason).await, "rejected")
        }
    };
    match result {
        Ok(_) => Ok(respond::found(&page.keep_locale(&format!("{}?done={done}", reviews_path(tenant))))),
        Err(e) => {
            let (status, key) = match e {
                Error::Invalid { .. } => (StatusCode::BAD_REQUEST, "review_reason_invalid"),
                Error::NotFound(_) | Error::Refused(_) => (StatusCode::CONFLICT, "review_not_pending"),
                e => return Err(e.into()),
            };
            render(svc, &page, tenant, status, None, Some(page.text(key))).await
        }
    }
}

async fn approve(
    State(svc): State<AppState>,
    Path((tenant, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    decide(&svc, &tenant, &account_id, &headers, &form, Action::Approve).await
}

async fn reject(
    State(svc): State<AppState>,
    Path((tenant, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    decide(&svc, &tenant, &account_id, &headers, &form, Action::Reject).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/t/{tenant}/reviews", get(show))
        .route("/admin/t/{tenant}/reviews/{account_id}/approve", post(approve))
        .route("/admin/t/{tenant}/reviews/{account_id}/reject", post(reject))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r12_sign_in_leads_back_only_to_admin_pages() {
        assert_eq!(safe_next(Some("/admin/t/acme/reviews")).as_deref(), Some("/admin/t/acme/reviews"));
        assert_eq!(safe_next(Some("https://evil.example/admin/t/")), None);
        assert_eq!(safe_next(Some("//evil.example/admin/t/x")), None);
        assert_eq!(safe_next(Some("/admin/t/../../t/x")), None);
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn r12_admin_cookie_is_strict_and_scoped_to_admin_pages() {
        let c = admin_cookie("v", 60, true);
        assert_eq!(c.to_str().unwrap_or(""), "lk_admin=v; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
    }
}
