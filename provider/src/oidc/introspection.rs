//! Token introspection (RFC 7662) for authenticated confidential clients of the tenant:
//! a client learns about its own tokens only, unless it is registered as a resource
//! server (`Client::may_introspect`); any other token is answered `{"active": false}`,
//! exactly as an unknown one (§2.2, §4). Answers are never cached.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::oidc::client_auth;
use crate::oidc::revocation::TokenForm;
use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::FormBody;
use crate::web::paths;

async fn introspect(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> ApiResult<Response> {
    let client =
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())
            .await?;
    if client.is_public() {
        return Err(ApiError::unauthorized("invalid_client", "public clients cannot introspect"));
    }
    let mut resp = Json(svc.tokens.introspect(&tenant, &client, &form.token).await?).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::INTROSPECTION), post(introspect))
}
