//! The sign-in page: any identifier and the password (R15), then back into the
//! authorization flow that sent the person here (R18).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_core::Error;
use latchkey_core::grant::request;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiResult;
use crate::http::{FormBody, origin, set_cookie};
use crate::oidc::flow::{SESSION_COOKIE, session_of, session_path};
use crate::oidc::{authorize, respond};
use crate::state::AppState;
use crate::ui::page::Page;

#[derive(Deserialize)]
struct FlowQuery {
    flow: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    password: String,
}

fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    flow: Option<&str>,
    identifier: &str,
    error: Option<&str>,
) -> ApiResult<Response> {
    let t = svc.tenants.get(tenant)?;
    let saved = match flow {
        Some(id) => request::load_flow(&svc.store, tenant, id, svc.now())?,
        None => None,
    };
    let client_name = match &saved {
        Some(f) => svc.clients.get(tenant, &f.request.client_id).ok().map(|c| c.name),
        None => None,
    };
    let hint = saved.as_ref().and_then(|f| f.request.login_hint.clone()).unwrap_or_default();
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    Ok(page.render(
        svc,
        status,
        "login.html",
        json!({
            "tenant_name": t.display_name, "client_name": client_name, "flow": flow.unwrap_or(""),
            "identifier": if identifier.is_empty() { hint } else { identifier.to_string() },
            "error": error, "action": format!("/t/{tenant}/login"),
        }),
    ))
}

fn ui_locales_of(svc: &AppState, tenant: &str, flow: Option<&str>) -> Option<String> {
    let id = flow?;
    request::load_flow(&svc.store, tenant, id, svc.now()).ok().flatten().and_then(|f| f.request.ui_locales)
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, ui_locales_of(&svc, &tenant, q.flow.as_deref()).as_deref());
    render(&svc, &tenant, &page, q.flow.as_deref(), "", None)
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<LoginForm>,
) -> ApiResult<Response> {
    let flow = form.flow.as_deref().filter(|f| !f.is_empty());
    let page = Page::new(&headers, ui_locales_of(&svc, &tenant, flow).as_deref());
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.message(&svc, StatusCode::FORBIDDEN, "error", page.text("csrf"), Some("csrf")));
    }
    svc.tenants.get(&tenant)?;
    let account = match svc.accounts.sign_in(&tenant, &form.identifier, &form.password).await {
        Ok(a) => a,
        Err(Error::BadCredentials) => {
            return render(&svc, &tenant, &page, flow, &form.identifier, Some(page.text("bad_credentials")));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some((old, _)) = session_of(&svc, &tenant, &headers)? {
        svc.sessions.end(&tenant, &old)?;
    }
    let (cookie, session) =
        svc.sessions.start(&tenant, &account.id, vec!["pwd".into()], &origin(&headers, Some(peer)))?;
    if let Some(id) = flow {
        request::mark_signed_in(&svc.store, &tenant, id, &session.sid)?;
    }
    svc.store.commit().await?;
    let mut resp = match flow {
        Some(id) => respond::found(&format!("/t/{tenant}/authorize/resume?flow={id}")),
        None => page.message(&svc, StatusCode::OK, "sign_in", page.text("signed_in"), None),
    };
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &cookie, &session_path(&tenant), None, svc.secure_cookies),
    );
    Ok(resp)
}

async fn resume(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let flow = q.flow.unwrap_or_default();
    let page = Page::new(&headers, ui_locales_of(&svc, &tenant, Some(&flow)).as_deref());
    authorize::resume(&svc, &tenant, &flow, &headers, &page).await.map(IntoResponse::into_response)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/login", get(show).post(submit))
        .route("/t/{tenant}/authorize/resume", get(resume))
}
