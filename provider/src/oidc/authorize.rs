//! The authorization endpoint (GET and POST): validate, then advance the flow. An
//! unknown client or an unregistered redirect URI gets an error page, never a redirect.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::grant::request::{self, AuthorizeError, AuthorizeParams, Flow};

use crate::oidc::flow;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::page::Page;
use crate::web::respond;

async fn authorize(svc: &AppState, tenant: String, headers: HeaderMap, params: AuthorizeParams) -> ApiResult<Response> {
    let page = Page::new(&headers, params.ui_locales.as_deref());
    if svc.tenants.get(&tenant).is_err() {
        return Ok(page.message(svc, StatusCode::NOT_FOUND, "error", "unknown tenant", Some("invalid_request")));
    }
    let ring = svc.keys.ring(&tenant)?;
    let (req, client) = match request::validate(&svc.clients, &tenant, &ring, &svc.issuer(&tenant), params) {
        Ok(v) => v,
        Err(AuthorizeError::Page { error, description }) => {
            return Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", &description, Some(error)));
        }
        Err(AuthorizeError::Redirect { to, error, description }) => {
            return Ok(respond::error_to_client(svc, &tenant, &to, error, &description));
        }
    };
    let page = Page::new(&headers, req.ui_locales.as_deref());
    let now = svc.now();
    let fresh = Flow::new(req, now);
    flow::advance(svc, &tenant, None, fresh, &client, &headers, &page).await
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

/// Resumes a saved flow (after sign-in or consent).
pub async fn resume(
    svc: &AppState,
    tenant: &str,
    flow_id: &str,
    headers: &HeaderMap,
    page: &Page,
) -> ApiResult<Response> {
    let Some(saved) = request::load_flow(&svc.store, tenant, flow_id, svc.now())? else {
        return Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", page.text("flow_expired"), None));
    };
    let client = svc.clients.get(tenant, &saved.request.client_id)?;
    flow::advance(svc, tenant, Some(flow_id.to_string()), saved, &client, headers, page).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(&crate::web::paths::route(crate::web::paths::AUTHORIZE), get(get_authorize).post(post_authorize))
}
