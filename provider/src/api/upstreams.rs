//! Admin API for a tenant's upstream identity providers (R17):
//! `GET /admin/tenants/{t}/upstreams`, `PUT|GET|DELETE /admin/tenants/{t}/upstreams/{id}`.
//! Secrets are write-only: answers never carry them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use latchkey_core::Resource;
use latchkey_core::federation::upstream::UpstreamConfig;

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::JsonBody;

async fn list(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Vec<UpstreamConfig>>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(svc.upstreams.list(&tenant).await?))
}

async fn put(
    State(svc): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
    JsonBody(config): JsonBody<UpstreamConfig>,
) -> ApiResult<Json<UpstreamConfig>> {
    svc.tenants.get(&tenant).await?;
    if config.id != id {
        return Err(ApiError::bad_request("invalid_input", "the id in the body differs from the URL"));
    }
    let saved = svc.upstreams.put_durably(&tenant, config, svc.now()).await?;
    Ok(Json(saved))
}

async fn get_one(
    State(svc): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<UpstreamConfig>> {
    Ok(Json(svc.upstreams.get(&tenant, &id).await?))
}

async fn remove(State(svc): State<AppState>, Path((tenant, id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    if !svc.upstreams.remove_durably(&tenant, &id).await? {
        return Err(latchkey_core::Error::NotFound(Resource::Upstream).into());
    }
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/tenants/{tenant}/upstreams", get(list))
        .route("/admin/tenants/{tenant}/upstreams/{id}", get(get_one).put(put).delete(remove))
}
