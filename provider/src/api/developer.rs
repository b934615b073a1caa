//! The developer profile in the account API (R11, R12): `GET` shows the state, the
//! reason of a rejection and the tenant's developer types; `POST` submits or
//! resubmits the identity fields of a type.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use latchkey_core::developer::{DeveloperType, ReviewState, Submission};
use serde::{Deserialize, Serialize};

use crate::api::caller::caller;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::JsonBody;

/// A developer's submission as its holder sees it: the submission (`status`, and
/// `reason` when rejected), whether it may still be edited, and the types offered.
#[derive(Serialize)]
pub struct DeveloperView {
    #[serde(flatten)]
    pub submission: Submission,
    /// False once approved: the identity fields are read-only (R12).
    pub editable: bool,
    pub types: Vec<DeveloperType>,
}

impl DeveloperView {
    pub fn new(submission: Submission, types: Vec<DeveloperType>) -> Self {
        DeveloperView { editable: submission.state != ReviewState::Approved, submission, types }
    }
}

/// A submission: the chosen `developer_type` (one of the tenant's types) and its
/// `fields`, each required field present, non-empty and at most 200 characters, and
/// no field the type does not name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    developer_type: String,
    fields: BTreeMap<String, String>,
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<DeveloperView>> {
    let c = caller(&svc, &tenant, &headers).await?;
    let types = svc.developers.types(&tenant).await?;
    Ok(Json(DeveloperView::new(svc.developers.get(&tenant, &c.account_id).await?, types)))
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Submit>,
) -> ApiResult<Json<DeveloperView>> {
    let c = caller(&svc, &tenant, &headers).await?;
    let facts = crate::web::http::facts(&headers, None, None);
    let s = svc
        .developers
        .submit_durably(&svc.policy, &facts, &tenant, &c.account_id, &body.developer_type, &body.fields)
        .await?;
    Ok(Json(DeveloperView::new(s, svc.developers.types(&tenant).await?)))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/api/account/developer", get(show).post(submit))
}
