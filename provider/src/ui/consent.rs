//! The consent page's answer: allow (remembered per client and scope) or deny.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use latchkey_core::grant::{consent, request};
use serde::Deserialize;

use crate::oidc::authorize;
use crate::state::AppState;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::page::Page;
use crate::web::respond;

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
    let now = svc.now();
    let saved = request::load_flow(&svc.store, &tenant, &form.flow, now)?;
    let page = Page::new(&headers, saved.as_ref().and_then(|f| f.request.ui_locales.as_deref()));
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.message(&svc, StatusCode::FORBIDDEN, "error", page.text("csrf"), Some("csrf")));
    }
    let (Some(mut saved), Some((_, session))) = (saved, cookies::session_of(&svc, &tenant, &headers)?) else {
        return Ok(page.message(&svc, StatusCode::BAD_REQUEST, "error", page.text("flow_expired"), None));
    };
    if form.decision != "allow" {
        request::end_flow(&svc.store, &tenant, &form.flow)?;
        return Ok(respond::error_to_client(
            &svc,
            &tenant,
            &saved.request.redirect(),
            "access_denied",
            "the user denied the request",
        ));
    }
    consent::grant(&svc.store, &tenant, &session.account_id, &saved.request.client_id, &saved.request.scopes, now)?;
    if saved.request.prompt.consent {
        saved.request.prompt.consent = false;
        svc.store.put(&tenant, &form.flow, &saved)?;
    }
    authorize::resume(&svc, &tenant, &form.flow, &headers, &page).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/consent", post(decide))
}
