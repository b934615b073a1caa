//! Developer review in the admin API (R12): the pending submissions of a tenant, and
//! approving or rejecting one (a rejection carries the reason the developer sees).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::middleware;
use axum::routing::{get, post};
use latchkey_core::developer::Submission;
use serde::Deserialize;

use crate::api::admin::require_admin;
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::JsonBody;

/// Who decided, recorded as `decided_by` (default `admin`); at most 100 characters.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Approve {
    #[serde(default)]
    reviewer: Option<String>,
}

/// A rejection: the `reason` (required, at most 500 characters) and the reviewer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reject {
    reason: String,
    #[serde(default)]
    reviewer: Option<String>,
}

fn reviewer(name: Option<String>) -> ApiResult<String> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| "admin".into());
    if name.chars().count() > 100 {
        return Err(ApiError::bad_request("invalid_input", "reviewer: at most 100 characters"));
    }
    Ok(name)
}

async fn pending(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Vec<Submission>>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(svc.developers.list_pending(&tenant).await?))
}

/// The body is optional: `{}` or `{"reviewer": "..."}`.
async fn approve(
    State(svc): State<AppState>,
    Path((tenant, account_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Submission>> {
    let body: Approve = if body.iter().all(u8::is_ascii_whitespace) {
        Approve::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?
    };
    svc.tenants.get(&tenant).await?;
    let s = svc.developers.approve_durably(&tenant, &account_id, &reviewer(body.reviewer)?).await?;
    Ok(Json(s))
}

async fn reject(
    State(svc): State<AppState>,
    Path((tenant, account_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Reject>,
) -> ApiResult<Json<Submission>> {
    svc.tenants.get(&tenant).await?;
    let s = svc.developers.reject_durably(&tenant, &account_id, &reviewer(body.reviewer)?, &body.reason).await?;
    Ok(Json(s))
}

pub fn router(state: AppState) -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/tenants/{tenant}/reviews", get(pending))
        .route("/admin/tenants/{tenant}/reviews/{account_id}/approve", post(approve))
        .route("/admin/tenants/{tenant}/reviews/{account_id}/reject", post(reject))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}
