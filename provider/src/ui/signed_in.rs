//! After a successful sign-in (any method): start the session, remember the device
//! (a notice on a new one, R38), then continue the authorization flow (R18), first
//! showing what the person must know (R9 notices, R4 password age).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use latchkey_core::account::signin::SignedIn;
use latchkey_core::code::{Message, MessageKind, Notice};
use latchkey_core::grant::request;
use latchkey_core::policy::{Facts, SignInInput};
use latchkey_core::session::Origin;
use latchkey_core::{Error, secret};
use serde_json::json;

use crate::error::ApiResult;
use crate::http::{cookie, set_cookie};
use crate::oidc::flow::{SESSION_COOKIE, session_of, session_path};
use crate::oidc::respond;
use crate::outbox::render;
use crate::state::Services;
use crate::ui::page::Page;

pub const DEVICE_COOKIE: &str = "lk_device";
const DEVICE_COOKIE_AGE: u64 = 400 * 24 * 3600;

/// Where to go after signing in: back into the flow, or the account center.
pub fn next_url(tenant: &str, flow: Option<&str>) -> String {
    match flow {
        Some(id) => format!("/t/{tenant}/authorize/resume?flow={id}"),
        None => format!("/t/{tenant}/account"),
    }
}

/// Starts the session for `signed` and answers the browser.
pub async fn complete(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    origin: &Origin,
    flow: Option<&str>,
    signed: SignedIn,
    page: &Page,
) -> ApiResult<Response> {
    complete_to(svc, tenant, headers, origin, flow, signed, page, next_url(tenant, flow)).await
}

/// `complete`, continuing to `next` (a path in the tenant) instead of straight back
/// into the flow: registration sends the person through the optional security-email
/// step first (R5), and that page carries the flow's URL on.
#[allow(clippy::too_many_arguments)]
pub async fn complete_to(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    origin: &Origin,
    flow: Option<&str>,
    signed: SignedIn,
    page: &Page,
    next: String,
) -> ApiResult<Response> {
    let existing_device = cookie(headers, DEVICE_COOKIE).filter(|d| d.len() == 43);
    let device = existing_device.clone().unwrap_or_else(secret::token);
    // The tenant's sign-in hook (W1) may refuse; what it requires (a second factor, a
    // CAPTCHA) this server cannot offer yet, so that refuses too (fail closed).
    let client_id = flow
        .and_then(|id| request::load_flow(&svc.store, tenant, id, svc.now()).ok().flatten())
        .map(|f| f.request.client_id);
    let facts = Facts { client_id, ip: origin.ip.clone(), user_agent: origin.user_agent.clone() };
    let input = SignInInput {
        account_id: signed.account.id.clone(),
        method: signed.amr.first().cloned().unwrap_or_default(),
        new_device: !signed.account.known_devices.contains(&secret::digest(&device)),
    };
    if let Err(Error::PluginDenied { reason, message }) = svc.policy.sign_in(tenant, &facts, &input).into_result() {
        return Ok(page.message(svc, StatusCode::FORBIDDEN, "error", &message, Some(&reason)));
    }
    if let Some((old, _)) = session_of(svc, tenant, headers)? {
        svc.sessions.end(tenant, &old)?;
    }
    let (session_cookie, session) = svc.sessions.start(tenant, &signed.account.id, signed.amr.clone(), origin)?;
    if let Some(id) = flow {
        request::mark_signed_in(&svc.store, tenant, id, &session.sid)?;
    }
    if svc.accounts.note_device(tenant, &signed.account.id, &secret::digest(&device))? {
        let account = signed.account.clone();
        let notice = Notice::NewDeviceSignIn { user_agent: origin.user_agent.clone(), ip: origin.ip.clone() };
        svc.accounts.notify(tenant, &account, notice, page.locale.tag()).await;
    }
    svc.store.commit().await?;

    let mut resp = if signed.notices.is_empty() && !signed.password_expired {
        respond::found(&next)
    } else {
        let texts: Vec<String> = signed
            .notices
            .iter()
            .map(|n| {
                let m = Message {
                    tenant: tenant.into(),
                    to: latchkey_core::code::Destination::email(""),
                    locale: page.locale.tag().into(),
                    kind: MessageKind::Notice(n.clone()),
                };
                render::render(&m).body
            })
            .collect();
        page.render(
            svc,
            StatusCode::OK,
            "notice.html",
            json!({
                "notices": texts, "password_expired": signed.password_expired, "next": next,
                "change_password": format!("/t/{tenant}/account/password?next={}", urlencode(&next)),
            }),
        )
    };
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session_cookie, &session_path(tenant), None, svc.secure_cookies),
    );
    if existing_device.is_none() {
        h.append(
            header::SET_COOKIE,
            set_cookie(DEVICE_COOKIE, &device, "/", Some(DEVICE_COOKIE_AGE), svc.secure_cookies),
        );
    }
    Ok(resp)
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
