//! The consent page's answer: allow (remembered per client and scope) or deny.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::authorized::{self, session_cookie};
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::page::Page;

#[derive(Deserialize)]
struct ConsentForm {
    csrf: Option<String>,
    #[serde(default)]
    flow: String,
    #[serde(default)]
    decision: String,
}

async fn decide(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<ConsentForm>,
) -> ApiResult<Response> {
    let saved = svc.authorizations.flow(&tenant, &form.flow).await?;
    let page = Page::new(&headers, saved.as_ref().and_then(|f| f.request.ui_locales.as_deref()));
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.message(&svc, StatusCode::FORBIDDEN, "error", page.text("csrf"), Some("csrf")));
    }
    let cookie = session_cookie(&headers);
    let allow = form.decision == "allow";
    let outcome = svc.authorizations.consent(&tenant, &form.flow, cookie.as_deref(), allow).await?;
    Ok(authorized::render(&svc, &tenant, &headers, &page, outcome))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/consent", post(decide))
}
