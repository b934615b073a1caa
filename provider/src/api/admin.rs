//! The admin API under `/admin`: tenants, clients, users, keys. Every request carries
//! the admin token as a bearer token (created at first start in the data directory).

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use latchkey_core::account::{Account, NewAccount};
use latchkey_core::client::{AuthMethod, Client, GrantType, Lifetimes, NewClient};
use latchkey_core::keys::Alg;
use latchkey_core::secret;
use latchkey_core::settings::TenantSettings;
use latchkey_core::tenant::Tenant;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::{JsonBody, bearer};

pub(crate) async fn require_admin(State(svc): State<AppState>, req: Request, next: Next) -> Response {
    let ok = bearer(req.headers()).is_some_and(|t| secret::eq(&secret::digest(t), &svc.admin_token_digest));
    if ok {
        next.run(req).await
    } else {
        ApiError::unauthorized("unauthorized", "a valid admin token is required").into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    id: String,
    #[serde(default)]
    display_name: String,
}

async fn add_tenant(
    State(svc): State<AppState>,
    JsonBody(t): JsonBody<NewTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    let tenant = svc.tenants.create_durably(&svc.keys, &t.id, &t.display_name).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

async fn put_settings(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(settings): JsonBody<TenantSettings>,
) -> ApiResult<Json<TenantSettings>> {
    let t = svc.tenants.set_settings_durably(&tenant, settings).await?;
    Ok(Json(t.settings))
}

async fn get_settings(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<TenantSettings>> {
    Ok(Json(svc.tenants.get(&tenant).await?.settings))
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

/// The tenant's newest security events (default 100, at most 1000).
async fn audit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> ApiResult<Json<Vec<latchkey_core::audit::AuditEvent>>> {
    Ok(Json(svc.tenants.audit(&tenant, q.limit.unwrap_or(100).min(1000)).await?))
}

async fn list_tenants(State(svc): State<AppState>) -> ApiResult<Json<Vec<Tenant>>> {
    Ok(Json(svc.tenants.list().await?))
}

/// A client as the admin API shows it: never its secret digest.
#[derive(Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: AuthMethod,
    pub first_party: bool,
    pub id_token_signed_response_alg: Alg,
    pub lifetimes: Lifetimes,
    pub created_at: u64,
    /// May introspect tokens of every client of the tenant (RFC 7662).
    pub resource_server: bool,
}

impl ClientView {
    pub fn new(c: Client, secret: Option<String>) -> Self {
        ClientView {
            public: c.is_public(),
            client_id: c.id,
            name: c.name,
            client_secret: secret,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            token_endpoint_auth_method: c.auth_method,
            first_party: c.first_party,
            id_token_signed_response_alg: c.id_token_alg,
            lifetimes: c.lifetimes,
            created_at: c.created_at,
            resource_server: c.resource_server,
        }
    }
}

async fn add_client(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(new): JsonBody<NewClient>,
) -> ApiResult<(StatusCode, Json<ClientView>)> {
    svc.tenants.get(&tenant).await?;
    let (client, shown) = svc.clients.create_durably(svc.clock.as_ref(), &tenant, new).await?;
    Ok((StatusCode::CREATED, Json(ClientView::new(client, shown))))
}

async fn list_clients(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Vec<ClientView>>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(svc.clients.list(&tenant).await?.into_iter().map(|c| ClientView::new(c, None)).collect()))
}

async fn remove_client(
    State(svc): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc.clients.remove_durably(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account as the admin API shows it: never its password hash.
#[derive(Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub created_at: u64,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let (email, phone) = (a.email().cloned(), a.mobile().cloned());
        AccountView {
            email_verified: email.as_ref().is_some_and(|b| b.verified),
            email: email.map(|b| b.value),
            phone_verified: phone.as_ref().is_some_and(|b| b.verified),
            phone: phone.map(|b| b.value),
            id: a.id,
            name: a.name,
            created_at: a.created_at,
        }
    }
}

async fn add_user(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(new): JsonBody<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    svc.tenants.get(&tenant).await?;
    let account = svc.accounts.create(&tenant, new).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

async fn list_users(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<Vec<AccountView>>> {
    svc.tenants.get(&tenant).await?;
    Ok(Json(svc.accounts.list(&tenant).await?.into_iter().map(Into::into).collect()))
}

async fn rotate_keys(State(svc): State<AppState>, Path(tenant): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    svc.tenants.get(&tenant).await?;
    let kids = svc.keys.rotate_durably(&tenant).await?;
    Ok(Json(json!({ "active_kids": kids })))
}

pub fn router(state: AppState) -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/tenants", get(list_tenants).post(add_tenant))
        .route("/admin/tenants/{tenant}/settings", get(get_settings).put(put_settings))
        .route("/admin/tenants/{tenant}/clients", get(list_clients).post(add_client))
        .route("/admin/tenants/{tenant}/clients/{id}", delete(remove_client))
        .route("/admin/tenants/{tenant}/users", get(list_users).post(add_user))
        .route("/admin/tenants/{tenant}/keys/rotate", post(rotate_keys))
        .route("/admin/tenants/{tenant}/audit", get(audit))
        .merge(crate::api::plugins::routes())
        .merge(crate::api::upstreams::routes())
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}
