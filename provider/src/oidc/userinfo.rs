//! UserInfo (GET and POST): the claims the access token's scopes release.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use latchkey_core::grant::UserInfoRefused;
use serde_json::Value;

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::bearer;
use crate::web::paths;

async fn userinfo(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let token = bearer(&headers).ok_or_else(|| ApiError::bearer_required("a bearer access token is required"))?;
    match svc.tokens.userinfo(&tenant, token).await? {
        Ok(claims) => Ok(Json(Value::Object(claims))),
        Err(UserInfoRefused::InsufficientScope) => Err(ApiError::insufficient_scope(
            "Bearer error=\"insufficient_scope\", scope=\"openid\"",
            "the token lacks the openid scope",
        )),
        Err(UserInfoRefused::NoAccount) => Err(ApiError::unauthorized("invalid_token", "the token names no account")),
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::USERINFO), get(userinfo).post(userinfo))
}
