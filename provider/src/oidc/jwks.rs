//! The tenant's JSON Web Key Set: active and retired (still verifying) public keys,
//! each naming its `alg` and `use: sig`.

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::paths;

async fn jwks(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Value>> {
    svc.tenants.get(&tenant).await?;
    let ring = svc.keys.ring(&tenant).await?;
    Ok(Json(json!({ "keys": ring.keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::JWKS), get(jwks))
}
