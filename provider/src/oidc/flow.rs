//! Moving an authorization request forward: sign-in, consent, then the code. The
//! authorize endpoint, the sign-in page and the consent page all end here.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_core::client::Client;
use latchkey_core::grant::family::{self, Grant};
use latchkey_core::grant::request::{self, Flow, Next};
use latchkey_core::grant::{code, consent};
use latchkey_core::session::Session;
use serde_json::json;

use crate::error::ApiResult;
use crate::http::cookie;
use crate::oidc::respond;
use crate::state::Services;
use crate::ui::page::Page;

pub const SESSION_COOKIE: &str = "lk_session";

/// The cookie path that scopes a session to one tenant.
pub fn session_path(tenant: &str) -> String {
    format!("/t/{tenant}/")
}

/// The browser's live session in this tenant: (cookie value, session).
pub fn session_of(svc: &Services, tenant: &str, headers: &HeaderMap) -> ApiResult<Option<(String, Session)>> {
    let Some(c) = cookie(headers, SESSION_COOKIE).filter(|c| c.len() <= 64) else { return Ok(None) };
    Ok(svc.sessions.get(tenant, &c)?.map(|s| (c, s)))
}

/// Takes the flow as far as it can go without the person, and shows what they must do.
pub async fn advance(
    svc: &Services,
    tenant: &str,
    flow_id: Option<String>,
    flow: Flow,
    client: &Client,
    headers: &HeaderMap,
    page: &Page,
) -> ApiResult<Response> {
    let now = svc.now();
    let session = session_of(svc, tenant, headers)?;
    let consented = match &session {
        Some((_, s)) => consent::covers(&svc.store, tenant, &s.account_id, &client.id, &flow.request.scopes)?,
        None => false,
    };
    let next = request::next(&flow, session.as_ref().map(|(_, s)| s), client, consented, now);
    let saved_id = |flow_id: Option<String>| -> ApiResult<String> {
        match flow_id {
            Some(id) => Ok(id),
            None => Ok(request::save_flow(&svc.store, tenant, flow.request.clone(), now)?),
        }
    };
    match (next, session) {
        (Next::SignIn, _) => {
            let id = saved_id(flow_id)?;
            svc.store.commit().await?;
            Ok(respond::found(&format!("/t/{tenant}/login?flow={id}")))
        }
        (Next::Consent, _) => {
            let id = saved_id(flow_id)?;
            svc.store.commit().await?;
            let scopes: Vec<String> = flow
                .request
                .scopes
                .iter()
                .map(|s| match page.text(&format!("scope_{s}")) {
                    "" => s.clone(),
                    t => t.to_string(),
                })
                .collect();
            Ok(page.render(
                svc,
                StatusCode::OK,
                "consent.html",
                json!({ "client_name": client.name, "scopes": scopes, "flow": id, "action": format!("/t/{tenant}/consent") }),
            ))
        }
        (Next::Issue, Some((cookie, session))) => {
            let response = issue_code(svc, tenant, &flow, client, &session)?;
            svc.sessions.touch(tenant, &cookie, &client.id)?;
            if let Some(id) = flow_id {
                request::end_flow(&svc.store, tenant, &id)?;
            }
            svc.store.commit().await?;
            Ok(response)
        }
        (Next::Issue, None) => Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", page.text("flow_expired"), None)),
        (Next::Fail(error), _) => {
            if let Some(id) = flow_id {
                request::end_flow(&svc.store, tenant, &id)?;
            }
            Ok(respond::error_to_client(
                svc,
                tenant,
                &flow.request.redirect(),
                error,
                "the request cannot be completed without the user",
            ))
        }
    }
}

fn issue_code(svc: &Services, tenant: &str, flow: &Flow, client: &Client, session: &Session) -> ApiResult<Response> {
    let now = svc.now();
    let req = &flow.request;
    let horizon = now + client.lifetimes.refresh_token.max(client.lifetimes.access_token);
    let family = family::open(&svc.store, tenant, &client.id, &session.account_id, horizon)?;
    let grant = Grant {
        family,
        client_id: client.id.clone(),
        account_id: session.account_id.clone(),
        scopes: req.scopes.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
        sid: session.sid.clone(),
        nonce: req.nonce.clone(),
    };
    let code = code::issue(&svc.store, tenant, grant, &req.redirect_uri, req.code_challenge.clone(), now)?;
    Ok(respond::to_client(svc, tenant, &req.redirect(), vec![("code", code)]))
}
