//! UserInfo (GET and POST): the claims the access token's scopes release.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::{Value, json};

use crate::oidc::{claims, issuer};
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
    let at = issuer::verify_access_token(&svc, &tenant, token)?;
    let scopes: Vec<String> = at["scope"].as_str().unwrap_or("").split(' ').map(str::to_string).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(ApiError::insufficient_scope(
            "Bearer error=\"insufficient_scope\", scope=\"openid\"",
            "the token lacks the openid scope",
        ));
    }
    let sub = at["sub"].as_str().unwrap_or("");
    let account = svc
        .accounts
        .get(&tenant, sub)
        .map_err(|_| ApiError::unauthorized("invalid_token", "the token names no account"))?;
    let mut out = claims::for_scopes(&account, &scopes);
    out.extend(claims::developer(&svc, &tenant, &account.id, &scopes)?);
    let client_id = at["client_id"].as_str().unwrap_or("");
    let extra = crate::oidc::issuer::plugin_claims(&svc, &tenant, client_id, &account.id, &scopes)?;
    let mut merged = Value::Object(out);
    crate::oidc::issuer::merge_extra(&mut merged, extra.userinfo);
    let Value::Object(mut out) = merged else { return Err(ApiError::bad_request("server_error", "claims")) };
    out.insert("sub".into(), json!(account.id));
    Ok(Json(Value::Object(out)))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::USERINFO), get(userinfo).post(userinfo))
}
