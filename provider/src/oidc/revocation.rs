//! Token revocation (RFC 7009): a refresh token revokes its family; an access token
//! is revoked by its `jti`. Unknown tokens are answered 200 like known ones.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde::Deserialize;

use crate::oidc::client_auth;
use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::http::FormBody;
use crate::web::paths;

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub token: String,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

async fn revoke(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<TokenForm>,
) -> ApiResult<StatusCode> {
    let client =
        client_auth::authenticate(&svc, &tenant, &headers, form.client_id.as_deref(), form.client_secret.as_deref())
            .await?;
    svc.tokens.revoke(&tenant, &client.id, &form.token).await?;
    Ok(StatusCode::OK)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::REVOCATION), post(revoke))
}
