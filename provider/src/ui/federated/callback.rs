//! Coming back from an upstream (R17): the `state` must match this browser's detour
//! (single use), an upstream error is shown as such, the code is exchanged and the
//! identity verified; then a known subject signs in, a new one chooses, and a link
//! request links. An upstream that fails leaves nothing behind.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::federation::detour::Purpose;
use latchkey_core::signin::Linked;
use serde::Deserialize;
use serde_json::json;

use super::{answer, callback_url};
use crate::federation::client::FederationError;
use crate::state::{AppState, Services};
use crate::ui::signed_in::Held;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{FormBody, cookie, origin, set_cookie};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

#[derive(Deserialize, Default)]
struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    /// Set when this page re-posted a form_post answer to itself (see `post`).
    resubmitted: Option<String>,
}

/// The page for an upstream that failed or refused; nothing was created.
pub(super) fn upstream_failed(svc: &Services, page: &Page, name: &str, e: FederationError) -> Response {
    let (status, code, key) = match e {
        FederationError::Unavailable(cause) => {
            tracing::warn!(upstream = name, %cause, "upstream unavailable");
            (StatusCode::BAD_GATEWAY, "upstream_unavailable", "upstream_unavailable")
        }
        FederationError::Rejected(cause) => {
            tracing::warn!(upstream = name, %cause, "upstream answer rejected");
            (StatusCode::BAD_REQUEST, "upstream_rejected", "upstream_rejected")
        }
    };
    let text = crate::web::feedback::fill(page.text(key), &[("name", name)]);
    page.message(svc, status, "error", &text, Some(code))
}

async fn get_callback(
    State(svc): State<AppState>,
    Path((tenant, upstream)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> ApiResult<Response> {
    handle(&svc, &tenant, &upstream, peer, &headers, p).await
}

/// `response_mode=form_post` (Apple-style): the upstream's page POSTs here from its
/// own site, so this browser's SameSite=Lax cookies are not sent. The answer is
/// posted again from this origin, where they are.
async fn post_callback(
    State(svc): State<AppState>,
    Path((tenant, upstream)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(p): FormBody<CallbackParams>,
) -> ApiResult<Response> {
    if cookie(&headers, cookies::DETOUR).is_none() && p.resubmitted.is_none() {
        let page = Page::new(&headers, None);
        let mut fields = vec![("resubmitted".to_string(), "1".to_string())];
        for (k, v) in [("state", &p.state), ("code", &p.code), ("error", &p.error)] {
            if let Some(v) = v {
                fields.push((k.to_string(), v.clone()));
            }
        }
        let ctx = json!({ "action": callback_url(&svc, &tenant, &upstream), "fields": fields });
        return Ok(page.render(&svc, StatusCode::OK, "form_post.html", ctx));
    }
    handle(&svc, &tenant, &upstream, peer, &headers, p).await
}

async fn handle(
    svc: &Services,
    tenant: &str,
    upstream: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    p: CallbackParams,
) -> ApiResult<Response> {
    let page = Page::new(headers, None);
    let config = svc.upstreams.get(tenant, upstream).await?;
    let state = p.state.unwrap_or_default();
    let held = cookie(headers, cookies::DETOUR);
    let Some(detour) = svc.signins.federated_return(tenant, upstream, &state, held.as_deref()).await? else {
        return Ok(page.message(
            svc,
            StatusCode::BAD_REQUEST,
            "error",
            page.text("federation_state"),
            Some("invalid_state"),
        ));
    };
    if let Some(error) = p.error {
        let shown: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        let text = crate::web::feedback::fill(
            page.text("upstream_error"),
            &[("name", &config.display_name), ("error", &shown)],
        );
        return Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", &text, Some("upstream_error")));
    }
    let Some(code) = p.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Ok(page.message(
            svc,
            StatusCode::BAD_REQUEST,
            "error",
            page.text("federation_state"),
            Some("invalid_request"),
        ));
    };
    let creds = svc.upstreams.credentials(tenant, upstream).await?;
    let redirect_uri = callback_url(svc, tenant, upstream);
    let identity = match svc
        .upstream_client
        .identity(&config, &creds, &redirect_uri, &code, &detour.pkce_verifier, &detour.nonce, svc.now())
        .await
    {
        Ok(i) => i,
        Err(e) => return Ok(upstream_failed(svc, &page, &config.display_name, e)),
    };
    let from = origin(headers, Some(peer));
    match detour.purpose {
        Purpose::Link { account_id } => {
            let signed_in_as = cookies::session_of(svc, tenant, headers).await?.map(|(_, s)| s.account_id);
            let linked = svc
                .signins
                .federated_link(tenant, &account_id, signed_in_as.as_deref(), &identity, &from, page.locale.tag())
                .await?;
            Ok(respond::found(&match linked {
                Linked::NotSignedIn => paths::tenant(tenant, paths::LOGIN),
                Linked::Linked => format!("{}?done=linked", paths::tenant(tenant, paths::LINKED)),
                Linked::Taken => format!("{}?done=link_taken", paths::tenant(tenant, paths::LINKED)),
            }))
        }
        Purpose::SignIn => {
            let held = Held::of(headers);
            let browser = held.browser(&from, &page);
            let next = paths::next_after_sign_in;
            let step = svc.signins.federated_callback(tenant, browser, identity, detour.flow, next).await?;
            let mut resp = answer(svc, tenant, &page, step)?;
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(cookies::DETOUR, "", &cookies::session_path(tenant), Some(0), svc.secure_cookies),
            );
            Ok(resp)
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/federation/{upstream}/callback", get(get_callback).post(post_callback))
}
