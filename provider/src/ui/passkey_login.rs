//! Passwordless sign-in with a passkey (R20): the person types their identifier, the
//! browser's authenticator answers a challenge for that account's passkeys, and the
//! sign-in continues like any other (hook, session, back to the app) with `amr`
//! `hwk mfa`: the authenticator verified the user, so it counts as two factors.
//! Unknown identifiers get a decoy challenge (R36); the rules live in
//! `latchkey_core::account::passkey_sign_in`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::ui::login::flow_page;
use crate::ui::signed_in::{self, Held};
use crate::web::error::{ApiError, ApiResult};
use crate::web::http::{JsonBody, origin};
use crate::web::paths;

#[derive(Deserialize)]
struct Start {
    csrf: Option<String>,
    #[serde(default)]
    identifier: String,
}

#[derive(Deserialize)]
struct Finish {
    csrf: Option<String>,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: Value,
    flow: Option<String>,
}

fn csrf_refused() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf", "the form is stale; reload the page")
}

async fn start(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Start>,
) -> ApiResult<Response> {
    if !crate::web::page::Page::csrf_ok(&headers, body.csrf.as_deref()) {
        return Err(csrf_refused());
    }
    let rp = svc.relying_party(&tenant).await?;
    let (ceremony, options) = svc.signins.start_passkey_sign_in(&tenant, &rp, &body.identifier).await?;
    Ok(Json(json!({ "ceremony": ceremony, "options": options })).into_response())
}

async fn finish(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Finish>,
) -> ApiResult<Response> {
    let flow = body.flow.as_deref().filter(|f| !f.is_empty());
    let (page, saved) = flow_page(&svc, &tenant, &headers, flow).await;
    if !crate::web::page::Page::csrf_ok(&headers, body.csrf.as_deref()) {
        return Err(csrf_refused());
    }
    let from = origin(&headers, Some(peer));
    let rp = svc.relying_party(&tenant).await?;
    let held = Held::of(&headers);
    let next = paths::next_after_sign_in(&tenant, flow);
    let browser = held.browser(&from, &page);
    let (ceremony, credential) = (&body.ceremony, body.credential);
    let step = svc.signins.passkey(&tenant, browser, saved.as_ref(), &rp, ceremony, credential, next).await?;
    Ok(signed_in::for_script(signed_in::render_step(&svc, &tenant, &page, step)?))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/login/passkey/start", post(start))
        .route("/t/{tenant}/login/passkey/finish", post(finish))
}
