//! Admin API for a tenant's policy plugins (W4): install (or replace by name), list,
//! configure, remove — while the server runs; each change swaps the chain atomically.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::policy::InstalledPlugin;
use serde::Deserialize;
use serde_json::Value;

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::JsonBody;

/// Largest plugin accepted (base64 in JSON).
pub const MAX_PLUGIN_BODY: usize = 16 << 20;

/// `{"wasm": "<base64 component>", "config": {...}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Install {
    wasm: String,
    #[serde(default = "empty_object")]
    config: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

async fn install(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<Install>,
) -> ApiResult<(StatusCode, Json<InstalledPlugin>)> {
    svc.tenants.get(&tenant).await?;
    let wasm = STANDARD
        .decode(body.wasm.trim())
        .map_err(|_| ApiError::bad_request("invalid_request", "wasm is not base64"))?;
    let installed = svc.policy.install_durably(&tenant, &wasm, body.config).await?;
    tracing::info!(tenant, plugin = %installed.name, hash = %installed.hash, "plugin installed");
    Ok((StatusCode::CREATED, Json(installed)))
}

async fn list(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Vec<InstalledPlugin>>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(svc.policy.list(&tenant).await?))
}

async fn remove(State(svc): State<AppState>, Path((tenant, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    svc.policy.remove_durably(&tenant, &name).await?;
    tracing::info!(tenant, plugin = %name, "plugin removed");
    Ok(StatusCode::NO_CONTENT)
}

async fn configure(
    State(svc): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
    JsonBody(config): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    svc.policy.configure_durably(&tenant, &name, config).await?;
    tracing::info!(tenant, plugin = %name, "plugin configured");
    Ok(StatusCode::NO_CONTENT)
}

/// Routes (the admin router adds the token check).
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/tenants/{tenant}/plugins", get(list).post(install).layer(DefaultBodyLimit::max(MAX_PLUGIN_BODY)))
        .route("/admin/tenants/{tenant}/plugins/{name}", axum::routing::delete(remove))
        .route("/admin/tenants/{tenant}/plugins/{name}/config", put(configure))
}
