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

use crate::state::Services;
use crate::ui::signed_in;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

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
    let session = cookies::session_of(svc, tenant, headers)?;
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
        (Next::StepUp, Some((_, session))) => {
            let id = saved_id(flow_id)?;
            step_up(svc, tenant, id, &session).await
        }
        (Next::StepUp, None) => {
            Ok(page.message(svc, StatusCode::BAD_REQUEST, "error", page.text("flow_expired"), None))
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

/// Asks the signed-in person for a second factor because the app asked for `acr` 2
/// (P4); with none set up, the flow goes on with what the session has.
async fn step_up(svc: &Services, tenant: &str, id: String, session: &Session) -> ApiResult<Response> {
    let next = paths::next_after_sign_in(tenant, Some(&id));
    Ok(match svc.signins.step_up(tenant, &id, session, next.clone()).await? {
        latchkey_core::signin::step_up::StepUp::Skipped => respond::found(&next),
        latchkey_core::signin::step_up::StepUp::Owes { token } => signed_in::owes(svc, tenant, &token),
    })
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
