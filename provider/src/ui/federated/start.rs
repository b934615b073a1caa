//! Leaving for an upstream: a detour record (nonce, PKCE verifier, where to come
//! back to), its `state` in a cookie, and a redirect to the upstream's sign-in.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::federation::detour::{self, Detour, Purpose};
use latchkey_core::secret;
use serde::Deserialize;

use super::callback_url;
use crate::state::{AppState, Services};
use crate::ui::login::page_for;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::set_cookie;
use crate::web::page::Page;
use crate::web::{paths, respond};

#[derive(Deserialize)]
struct StartQuery {
    flow: Option<String>,
    /// `link`: the old way to link an upstream account (R28); now it only sends to
    /// the account center's link form.
    mode: Option<String>,
}

async fn start(
    State(svc): State<AppState>,
    Path((tenant, upstream)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> ApiResult<Response> {
    if q.mode.as_deref() == Some("link") {
        // Linking starts from the account center's form, with a proof (issue 10
        // item 4); this address only shows that form.
        return Ok(respond::found(&paths::tenant(&tenant, paths::LINKED)));
    }
    let flow = q.flow.filter(|f| !f.is_empty() && f.len() <= 64);
    let page = page_for(&svc, &tenant, &headers, flow.as_deref()).await;
    leave(&svc, &tenant, &upstream, flow, Purpose::SignIn, &page).await
}

/// Leaves for `upstream` for `purpose`: the detour is stored, its `state` set in a
/// cookie, and the answer is the redirect to the upstream's sign-in.
pub(super) async fn leave(
    svc: &Services,
    tenant: &str,
    upstream: &str,
    flow: Option<String>,
    purpose: Purpose,
    page: &Page,
) -> ApiResult<Response> {
    let config = svc.upstreams.get(tenant, upstream).await?;
    let nonce = secret::token();
    // The state is made first so the upstream URL can carry it.
    let placeholder = Detour {
        upstream: upstream.to_string(),
        nonce: nonce.clone(),
        pkce_verifier: String::new(),
        flow,
        purpose,
        expires_at: svc.now() + detour::LIFETIME,
    };
    let state = secret::token();
    let started = match svc.upstream_client.start(&config, &callback_url(svc, tenant, upstream), &state, &nonce).await {
        Ok(s) => s,
        Err(e) => return Ok(super::callback::upstream_failed(svc, page, &config.display_name, e)),
    };
    let detour = Detour { pkce_verifier: started.pkce_verifier, ..placeholder };
    svc.signins.federated_leave(tenant, &state, &detour).await?;
    let mut resp = respond::found(&started.url);
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(cookies::DETOUR, &state, &cookies::session_path(tenant), Some(detour::LIFETIME), svc.secure_cookies),
    );
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/federation/{upstream}/start", get(start))
}
