//! Linked third-party accounts in the account center (R28): list them, link another
//! (a form posted with the current password, then a trip to the upstream in link
//! mode: issue 10 item 4), unlink one unless it is the last way to sign in.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::account::password::Proof;
use latchkey_core::federation::detour::Purpose;
use serde::Deserialize;
use serde_json::json;

use crate::state::{AppState, Services};
use crate::ui::account::{holder, posted_by_holder};
use crate::web::error::ApiResult;
use crate::web::feedback::failure;
use crate::web::http::{FormBody, origin};
use crate::web::page::Page;
use crate::web::{paths, respond};

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// Starts linking an upstream account: the identity check first.
#[derive(Deserialize)]
struct LinkForm {
    csrf: Option<String>,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    current_password: String,
}

#[derive(Deserialize)]
struct UnlinkForm {
    csrf: Option<String>,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    subject: String,
}

async fn render(
    svc: &Services,
    tenant: &str,
    page: &Page,
    account_id: &str,
    status: StatusCode,
    note: Option<&str>,
) -> ApiResult<Response> {
    let error = note.filter(|_| !status.is_success()).map(|k| page.text(k).to_string());
    let info = note.filter(|_| status.is_success()).map(|k| page.text(k).to_string());
    render_with(svc, tenant, page, account_id, status, (error, info)).await
}

/// The page with a refusal or a confirmation sentence, `(error, info)`.
async fn render_with(
    svc: &Services,
    tenant: &str,
    page: &Page,
    account_id: &str,
    status: StatusCode,
    (error, info): (Option<String>, Option<String>),
) -> ApiResult<Response> {
    let upstreams = svc.upstreams.list(tenant).await?;
    let name_of = |id: &str| upstreams.iter().find(|u| u.id == id).map_or(id.to_string(), |u| u.display_name.clone());
    let links: Vec<_> = svc
        .accounts
        .links(tenant, account_id)
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "upstream": l.upstream, "upstream_name": name_of(&l.upstream), "subject": l.subject,
                "name": l.name, "linked_at": crate::ui::account::when(l.created_at),
            })
        })
        .collect();
    let others: Vec<_> =
        upstreams.iter().map(|u| json!({ "id": u.id, "name": u.display_name, "icon": u.icon })).collect();
    let ask_password = svc.accounts.get(tenant, account_id).await?.password.is_some();
    Ok(page.render(
        svc,
        status,
        "linked.html",
        json!({
            "base": paths::tenant(tenant, ""), "links": links, "upstreams": others, "error": error, "info": info,
            "ask_password": ask_password,
        }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Done>,
) -> ApiResult<Response> {
    let session = match holder(&svc, &tenant, &headers).await? {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let page = Page::new(&headers, None);
    let note = match q.done.as_deref() {
        Some("linked") => Some("federation_linked"),
        Some("unlinked") => Some("federation_unlinked"),
        Some("link_taken") => {
            return render(&svc, &tenant, &page, &session.account_id, StatusCode::CONFLICT, Some("link_taken")).await;
        }
        _ => None,
    };
    render(&svc, &tenant, &page, &session.account_id, StatusCode::OK, note).await
}

/// Checks the proof (the current password; for an account without any method, a
/// recent sign-in) and leaves for the upstream in link mode.
async fn link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(f): FormBody<LinkForm>,
) -> ApiResult<Response> {
    let (page, session) = match posted_by_holder(&svc, &tenant, &headers, None, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let settings = svc.tenants.get(&tenant).await?.settings;
    let account = svc.accounts.get(&tenant, &session.account_id).await?;
    let proof = Some(f.current_password.as_str()).filter(|p| !p.is_empty()).map(Proof::Password);
    if let Err(e) = svc.accounts.prove_fresh(&tenant, &settings, &account, proof, session.auth_time).await {
        let failed = failure(&page, &settings.password, e)?;
        return render_with(&svc, &tenant, &page, &account.id, failed.status, (Some(failed.text), None)).await;
    }
    let purpose = Purpose::Link { account_id: account.id.clone() };
    super::start::leave(&svc, &tenant, &f.upstream, None, purpose, &page).await
}

async fn unlink(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(f): FormBody<UnlinkForm>,
) -> ApiResult<Response> {
    let (page, session) = match posted_by_holder(&svc, &tenant, &headers, None, f.csrf.as_deref()).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let from = origin(&headers, Some(peer));
    match svc.signins.federated_unlink(&tenant, &session.account_id, &f.upstream, &f.subject, &from).await {
        Ok(()) => Ok(respond::found(&format!("{}?done=unlinked", paths::tenant(&tenant, paths::LINKED)))),
        Err(Error::Refused(_)) => {
            render(&svc, &tenant, &page, &session.account_id, StatusCode::CONFLICT, Some("last_sign_in_method")).await
        }
        Err(Error::NotFound(_)) => {
            render(&svc, &tenant, &page, &session.account_id, StatusCode::NOT_FOUND, Some("federation_not_linked"))
                .await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/linked", get(show))
        .route("/t/{tenant}/account/linked/link", post(link))
        .route("/t/{tenant}/account/linked/unlink", post(unlink))
}
