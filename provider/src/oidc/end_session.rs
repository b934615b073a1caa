//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser's
//! session in the tenant, so every app of the tenant is signed out (R30). With a valid
//! `id_token_hint` it happens at once; without one the person confirms first.
//! `post_logout_redirect_uri` must match one the client registered, exactly.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::jwt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiResult;
use crate::http::{FormBody, set_cookie};
use crate::oidc::flow::{SESSION_COOKIE, session_of, session_path};
use crate::oidc::{paths, respond};
use crate::state::AppState;
use crate::ui::page::Page;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct LogoutParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_logout_redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ui_locales: Option<String>,
    #[serde(skip_serializing)]
    csrf: Option<String>,
    #[serde(skip_serializing)]
    confirm: Option<String>,
}

async fn logout(
    svc: AppState,
    tenant: String,
    headers: HeaderMap,
    p: LogoutParams,
    posted: bool,
) -> ApiResult<Response> {
    let page = Page::new(&headers, p.ui_locales.as_deref());
    svc.tenants.get(&tenant)?;
    let hint = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => {
            let ring = svc.keys.ring(&tenant)?;
            match jwt::verify_signature(&ring, h, None) {
                Ok(c) if c["iss"].as_str() == Some(svc.issuer(&tenant).as_str()) => Some(c),
                _ => {
                    return Ok(page.message(
                        &svc,
                        StatusCode::BAD_REQUEST,
                        "error",
                        "id_token_hint is not valid",
                        Some("invalid_request"),
                    ));
                }
            }
        }
        None => None,
    };
    let hinted_client =
        hint.as_ref().and_then(|c| c["aud"].as_str().or_else(|| c["aud"][0].as_str())).map(str::to_string);
    let client_id = hinted_client.or_else(|| p.client_id.clone());
    let redirect = match p.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let allowed = client_id
                .as_deref()
                .and_then(|id| svc.clients.get(&tenant, id).ok())
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !allowed {
                return Ok(page.message(
                    &svc,
                    StatusCode::BAD_REQUEST,
                    "error",
                    "post_logout_redirect_uri is not registered for this client",
                    Some("invalid_request"),
                ));
            }
            Some(uri.to_string())
        }
    };
    let session = session_of(&svc, &tenant, &headers)?;
    let hint_matches = hint
        .as_ref()
        .is_some_and(|c| session.as_ref().is_none_or(|(_, s)| c["sub"].as_str() == Some(s.account_id.as_str())));
    let confirmed = posted && p.confirm.as_deref() == Some("yes") && Page::csrf_ok(&headers, p.csrf.as_deref());
    if session.is_some() && !hint_matches && !confirmed {
        return Ok(page.render(
            &svc,
            StatusCode::OK,
            "logout.html",
            json!({ "action": format!("/t/{tenant}{}", paths::END_SESSION), "carry": p }),
        ));
    }
    if let Some((cookie, _)) = &session {
        svc.sessions.end(&tenant, cookie)?;
        svc.store.commit().await?;
    }
    let mut resp = match redirect {
        Some(uri) => match url::Url::parse(&uri) {
            Ok(mut u) => {
                if let Some(s) = &p.state {
                    u.query_pairs_mut().append_pair("state", s);
                }
                respond::found(u.as_str())
            }
            Err(_) => page.message(&svc, StatusCode::BAD_REQUEST, "error", "invalid post_logout_redirect_uri", None),
        },
        None => page.message(&svc, StatusCode::OK, "sign_out", page.text("signed_out"), None),
    };
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", &session_path(&tenant), Some(0), svc.secure_cookies),
    );
    Ok(resp)
}

async fn get_logout(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(p): Query<LogoutParams>,
) -> ApiResult<Response> {
    logout(svc, tenant, headers, p, false).await
}

async fn post_logout(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(p): FormBody<LogoutParams>,
) -> ApiResult<Response> {
    logout(svc, tenant, headers, p, true).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::END_SESSION), get(get_logout).post(post_logout))
}
