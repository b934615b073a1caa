//! The authorization endpoint (GET and POST) and its resume route (after sign-in or
//! a step-up): one call to `grant::Authorizations`, then the page or redirect it
//! comes to. An unknown client or an unregistered redirect URI gets an error page,
//! never a redirect.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use latchkey_core::grant::Authorized;
use latchkey_core::grant::request::AuthorizeParams;
use serde::Deserialize;

use crate::oidc::flow;
use crate::state::AppState;
use crate::web::authorized::{self, session_cookie};
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::page::Page;

async fn authorize(svc: &AppState, tenant: String, headers: HeaderMap, params: AuthorizeParams) -> ApiResult<Response> {
    let page = Page::new(&headers, params.ui_locales.as_deref());
    let cookie = session_cookie(&headers);
    let outcome = svc.authorizations.authorize(&tenant, params, cookie.as_deref()).await?;
    answer(svc, &tenant, &headers, &page, outcome).await
}

/// Runs a step-up here (it belongs to the sign-in); renders anything else.
async fn answer(
    svc: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    page: &Page,
    outcome: Authorized,
) -> ApiResult<Response> {
    match outcome {
        Authorized::StepUp { flow_id, session } => flow::step_up(svc, tenant, flow_id, &session).await,
        other => Ok(authorized::render(svc, tenant, headers, page, other)),
    }
}

async fn get_authorize(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<AuthorizeParams>,
) -> ApiResult<Response> {
    authorize(&svc, tenant, headers, params).await
}

async fn post_authorize(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(params): FormBody<AuthorizeParams>,
) -> ApiResult<Response> {
    authorize(&svc, tenant, headers, params).await
}

#[derive(Deserialize)]
struct FlowQuery {
    flow: Option<String>,
}

/// Resumes a saved flow (after sign-in or a step-up).
async fn resume(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let flow = q.flow.unwrap_or_default();
    let cookie = session_cookie(&headers);
    let outcome = svc.authorizations.resume(&tenant, &flow, cookie.as_deref()).await?;
    // A missing flow has no language of its own; a consent page takes the flow's.
    let page = Page::new(&headers, None);
    answer(&svc, &tenant, &headers, &page, outcome).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(&crate::web::paths::route(crate::web::paths::AUTHORIZE), get(get_authorize).post(post_authorize))
        .route("/t/{tenant}/authorize/resume", get(resume))
}
