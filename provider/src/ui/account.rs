//! The account center page (R22, R26, R29, R30): the account's name, id and masked
//! mobile and email, each bound channel with its roles, and the signed-in devices,
//! each of which can be signed out. It needs the browser's session in the tenant.
//! Apps linking to the account pages may choose their language with `?ui_locales=`;
//! the pages' links and forms carry it on.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use latchkey_core::account::{Kind, mask};
use latchkey_core::session::Session;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::extract::{Holder, HolderForm};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

/// The browser's session in the tenant, or the answer that sends the person to sign in.
pub(crate) async fn holder(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Result<Session, Response>> {
    Ok(match cookies::session_of(svc, tenant, headers).await? {
        Some((_, session)) => Ok(session),
        None => Err(respond::found(&paths::tenant(tenant, paths::LOGIN))),
    })
}

/// The start of every form an account holder posts: the page, the CSRF check, then
/// the session (without one, to the sign-in page). `Err` is the answer to send.
pub(crate) async fn posted_by_holder(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    ui_locales: Option<&str>,
    csrf: Option<&str>,
) -> ApiResult<Result<(Page, Session), Response>> {
    let page = Page::new(headers, ui_locales);
    if !Page::csrf_ok(headers, csrf) {
        return Ok(Err(page.csrf_refused(svc)));
    }
    Ok(holder(svc, tenant, headers).await?.map(|session| (page, session)))
}

/// A date and time for people: `2025-03-01 08:30 UTC`.
pub(crate) fn when(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The label of a kind of channel.
pub(crate) fn kind_text(page: &Page, kind: Kind) -> &'static str {
    page.text(kind.as_str())
}

/// `Some(next)` if `next` is a path inside the tenant (`/t/{tenant}/...`); anything
/// else (another site, another tenant, a scheme) is dropped, so a link cannot send
/// the person away after a sensitive change.
pub fn safe_next(tenant: &str, next: Option<&str>) -> Option<String> {
    let next = next?;
    let inside = next.starts_with(&paths::tenant(tenant, "/"))
        && next.bytes().all(|b| b.is_ascii_graphic())
        && !next.contains("/../")
        && !next.contains('\\');
    inside.then(|| next.to_string())
}

#[derive(Deserialize)]
struct AccountQuery {
    /// What was just done, for the confirmation line.
    done: Option<String>,
    /// The language the linking app asks for (`zh-CN`, `en`).
    ui_locales: Option<String>,
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<AccountQuery>,
    Holder { session, account, .. }: Holder,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let devices = svc.sessions.list(&tenant, &account.id).await?;
    let channels: Vec<Value> = account
        .bindings
        .iter()
        .map(|b| {
            let roles: Vec<&str> = [(b.roles.login, "role_login"), (b.roles.recovery, "role_recovery"), (b.roles.contact, "role_contact")]
                .into_iter()
                .filter(|(on, _)| *on)
                .map(|(_, key)| page.text(key))
                .collect();
            json!({ "kind": kind_text(&page, b.kind), "value": mask(b.kind, &b.value), "verified": b.verified, "roles": roles })
        })
        .collect();
    let mut listed: Vec<Value> = Vec::with_capacity(devices.len());
    for s in devices {
        let mut clients: Vec<String> = Vec::with_capacity(s.clients.len());
        for id in &s.clients {
            clients.push(svc.clients.get(&tenant, id).await.map(|c| c.name).unwrap_or_else(|_| id.clone()));
        }
        listed.push(json!({
            "sid": s.sid, "current": s.sid == session.sid, "clients": clients, "user_agent": s.user_agent,
            "ip": s.ip, "signed_in_at": when(s.auth_time), "last_seen": when(s.last_seen),
        }));
    }
    let devices = listed;
    let info = match q.done.as_deref() {
        Some("email") => Some(page.text("done_email")),
        Some("mobile") => Some(page.text("done_mobile")),
        Some("ended") => Some(page.text("done_ended")),
        Some("ended_all") => Some(page.text("done_ended_all")),
        _ => None,
    };
    Ok(page.render(
        &svc,
        StatusCode::OK,
        "account.html",
        json!({
            "name": account.name, "id": account.id,
            "mobile": account.mobile().map(|b| mask(b.kind, &b.value)),
            "email": account.email().map(|b| mask(b.kind, &b.value)),
            "channels": channels, "devices": devices, "others": devices.len() > 1,
            "password_changed_at": when(account.password_changed_at), "info": info,
            "base": paths::tenant(&tenant, ""),
        }),
    ))
}

#[derive(Deserialize)]
struct EndForm {
    csrf: Option<String>,
    /// The session to end (`end`); absent for "every other device".
    sid: Option<String>,
    ui_locales: Option<String>,
}

crate::posted_form!(EndForm);

/// Signs one device out (R29).
async fn end_one(State(svc): State<AppState>, posted: HolderForm<EndForm>) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    // Another account's sid ends nothing: sessions are looked up under this account.
    svc.sessions.sign_out_device(&holder.tenant, &holder.account.id, form.sid.as_deref().unwrap_or("")).await?;
    Ok(Redirect::to(&page.keep_locale(&account_done(&holder.tenant, "ended"))).into_response())
}

/// Signs every other device out (R29); this one stays.
async fn end_others(State(svc): State<AppState>, posted: HolderForm<EndForm>) -> ApiResult<Response> {
    let HolderForm { page, holder, .. } = posted;
    svc.sessions.sign_out_others(&holder.tenant, &holder.account.id, Some(&holder.session.sid)).await?;
    Ok(Redirect::to(&page.keep_locale(&account_done(&holder.tenant, "ended_all"))).into_response())
}

/// The account center with a confirmation line.
fn account_done(tenant: &str, what: &str) -> String {
    format!("{}?done={what}", paths::tenant(tenant, paths::ACCOUNT))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account", get(show))
        .route("/t/{tenant}/account/sessions/end", post(end_one))
        .route("/t/{tenant}/account/sessions/end-others", post(end_others))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_tenant() {
        assert_eq!(
            safe_next("t1", Some("/t/t1/authorize/resume?flow=a")).as_deref(),
            Some("/t/t1/authorize/resume?flow=a")
        );
        for bad in
            ["https://evil.example/", "//evil.example/t/t1/", "/t/t2/account", "/t/t1", "/t/t1/../x", "/t/t1/a b"]
        {
            assert_eq!(safe_next("t1", Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_next("t1", None), None);
    }
}
