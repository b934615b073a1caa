//! The tenant's JSON Web Key Set: active and retired (still verifying) public keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use openidconnect::core::CoreJsonWebKeySet;

use crate::error::ApiResult;
use crate::oidc::paths;
use crate::oidc::signing::public_jwk;
use crate::state::AppState;

async fn jwks(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<CoreJsonWebKeySet>> {
    svc.tenants.get(&tenant)?;
    let ring = svc.keys.ring(&tenant)?;
    Ok(Json(CoreJsonWebKeySet::new(ring.keys.iter().map(public_jwk).collect())))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::JWKS), get(jwks))
}
