//! The token endpoint (RFC 6749 §3.2): authenticate the client, parse the form into
//! its grant's request (`grant::TokenRequest`), run it (`Tokens::exchange`, which
//! owns every rule and transaction), answer with `Cache-Control: no-store`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::grant::{TokenForm, TokenRequest};

use crate::oidc::client_auth;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;

async fn token(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> ApiResult<Response> {
    svc.tenants.get(&tenant).await?;
    let client =
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())
            .await?;
    let request = TokenRequest::parse(form)?;
    let issued = svc.tokens.exchange(&tenant, &client, request).await??;
    let mut resp = Json(issued).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&crate::web::paths::route(crate::web::paths::TOKEN), axum::routing::post(token))
}
