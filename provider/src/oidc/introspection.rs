//! Token introspection (RFC 7662) for authenticated confidential clients of the tenant:
//! a client learns about its own tokens only, unless it is registered as a resource
//! server (`Client::may_introspect`); any other token is answered `{"active": false}`,
//! exactly as an unknown one (§2.2, §4). Answers are never cached.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_core::grant::family;
use serde_json::{Value, json};

use crate::oidc::revocation::TokenForm;
use crate::oidc::{client_auth, issuer};
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
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())?;
    if client.is_public() {
        return Err(ApiError::unauthorized("invalid_client", "public clients cannot introspect"));
    }
    let now = svc.now();
    let answer = |body: Value| -> ApiResult<Response> {
        let mut resp = Json(body).into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        Ok(resp)
    };
    if let Ok(c) = issuer::verify_access_token(&svc, &tenant, &form.token)
        && client.may_introspect(c["client_id"].as_str().unwrap_or(""))
    {
        return answer(json!({
            "active": true, "token_type": "Bearer", "scope": c["scope"], "client_id": c["client_id"],
            "sub": c["sub"], "aud": c["aud"], "iss": c["iss"], "exp": c["exp"], "iat": c["iat"], "jti": c["jti"],
        }));
    }
    if let Some(rt) = family::find(&svc.store, &tenant, &form.token, now)?
        && !rt.used
        && client.may_introspect(&rt.grant.client_id)
        && family::is_live(&svc.store, &tenant, &rt.grant.family, now)?
    {
        return answer(json!({
            "active": true, "token_type": "refresh_token", "scope": rt.grant.scopes.join(" "),
            "client_id": rt.grant.client_id, "sub": rt.grant.account_id, "iss": svc.issuer(&tenant),
            "exp": rt.expires_at, "iat": rt.issued_at,
        }));
    }
    answer(json!({ "active": false }))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::INTROSPECTION), post(introspect))
}
