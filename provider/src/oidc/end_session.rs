//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser's
//! session in the tenant, so every app of the tenant is signed out (R30). With a valid
//! `id_token_hint` it happens at once; without one the person confirms first.
//! `post_logout_redirect_uri` must match one the client registered, exactly. The hint
//! must be an ID token of this tenant (`grant::id_token_hint`), and a `client_id` sent
//! with it must be one of its audiences; otherwise an error page, never a redirect.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::grant::id_token_hint::{self, IdTokenHint};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::AppState;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{FormBody, set_cookie};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

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
    svc.tenants.get(&tenant).await?;
    let refuse = |description: &str| -> ApiResult<Response> {
        Ok(page.message(&svc, StatusCode::BAD_REQUEST, "error", description, Some("invalid_request")))
    };
    let hint: Option<IdTokenHint> = match p.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => match id_token_hint::verify(&*svc.keys.ring(&tenant).await?, &svc.issuer(&tenant), h) {
            Ok(hint) => Some(hint),
            Err(_) => return refuse("id_token_hint is not valid"),
        },
        None => None,
    };
    let asked_client = p.client_id.as_deref().filter(|c| !c.is_empty());
    if let (Some(h), Some(c)) = (&hint, asked_client)
        && !h.issued_to(c)
    {
        return refuse("client_id is not an audience of id_token_hint");
    }
    let client_id = asked_client.or_else(|| hint.as_ref().and_then(|h| h.aud.first()).map(String::as_str));
    let redirect = match p.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let registered = match client_id {
                Some(id) => svc
                    .clients
                    .get(&tenant, id)
                    .await
                    .is_ok_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)),
                None => false,
            };
            let allowed = registered && latchkey_core::redirect_uri::safe_to_answer(uri);
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
    let session = cookies::session_of(&svc, &tenant, &headers).await?;
    let hint_matches = hint.as_ref().is_some_and(|h| session.as_ref().is_none_or(|(_, s)| h.sub == s.account_id));
    let confirmed = posted && p.confirm.as_deref() == Some("yes") && Page::csrf_ok(&headers, p.csrf.as_deref());
    if session.is_some() && !hint_matches && !confirmed {
        return Ok(page.render(
            &svc,
            StatusCode::OK,
            "logout.html",
            json!({ "action": paths::tenant(&tenant, paths::END_SESSION), "carry": p }),
        ));
    }
    if let Some((cookie, _)) = &session {
        svc.sessions.sign_out(&tenant, cookie).await?;
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
        set_cookie(cookies::SESSION, "", &cookies::session_path(&tenant), Some(0), svc.secure_cookies),
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
