//! After a first factor (any method): the tenant's sign-in hook, then what the
//! sign-in still owes (a CAPTCHA a plugin asked for, a second factor: R20), then the
//! session, a new-device notice (R38), and back into the authorization flow (R18),
//! first showing what the person must know (R9 notices, R4 password age).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use latchkey_core::account::Account;
use latchkey_core::account::second_factor::available;
use latchkey_core::account::signin::SignedIn;
use latchkey_core::audit::{self, AuditEvent};
use latchkey_core::code::{Message, MessageKind, Notice};
use latchkey_core::grant::request;
use latchkey_core::policy::{Decision, Facts, Requirement, SignInInput};
use latchkey_core::secret;
use latchkey_core::session::Origin;
use latchkey_core::signin::pending::{self, PendingSignIn};
use latchkey_core::signin::{Need, level, remembered};
use serde_json::json;

use crate::outbox::render;
use crate::state::Services;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{cookie, set_cookie};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;

/// Continues after a first factor for `signed`.
pub async fn complete(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    origin: &Origin,
    flow: Option<&str>,
    signed: SignedIn,
    page: &Page,
) -> ApiResult<Response> {
    complete_to(svc, tenant, headers, origin, flow, signed, page, paths::next_after_sign_in(tenant, flow)).await
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
    let now = svc.now();
    let settings = svc.tenants.get(tenant)?.settings;
    let saved = flow.and_then(|id| request::load_flow(&svc.store, tenant, id, now).ok().flatten());
    let client_id = saved.as_ref().map(|f| f.request.client_id.clone());
    let account = &signed.account;
    let device = cookie(headers, cookies::DEVICE).filter(|d| d.len() == 43);
    let facts = Facts { client_id: client_id.clone(), ip: origin.ip.clone(), user_agent: origin.user_agent.clone() };
    let input = SignInInput {
        account_id: account.id.clone(),
        method: signed.amr.first().cloned().unwrap_or_default(),
        new_device: device.is_none_or(|d| !account.known_devices.contains(&secret::digest(&d))),
    };
    let (plugin_factor, plugin_captcha) = match svc.policy.sign_in(tenant, &facts, &input) {
        Decision::Allow => (false, false),
        Decision::Require { requirement: Requirement::SecondFactor } => (true, false),
        Decision::Require { requirement: Requirement::Captcha } => (false, true),
        Decision::Deny { reason, message } => {
            record(svc, tenant, &account.id, "sign_in_denied", origin, client_id, json!({ "reason": reason }))?;
            return Ok(page.message(svc, StatusCode::FORBIDDEN, "error", &message, Some(&reason)));
        }
    };
    let remembered = match cookie(headers, cookies::REMEMBER) {
        Some(t) => remembered::is_remembered(&svc.store, tenant, &t, &account.id, account.security_epoch, now)?,
        None => false,
    };
    let acr_values = saved.as_ref().and_then(|f| f.request.acr_values.as_deref());
    let need = Need {
        two_step_on: account.two_step,
        tenant_requires: settings.sign_in.require_second_factor,
        plugin_requires: plugin_factor,
        app_requires: level::wants_two_factors(acr_values),
        remembered,
        already_two: level::acr(&signed.amr) == "2",
    };
    let mut owes_factor = need.second_factor();
    if owes_factor && available(account, &svc.enrolled(tenant, &account.id)?, &signed.amr).is_empty() {
        // An app's acr_values is a wish (it gets acr 1); the person's, the tenant's
        // or a plugin's requirement is not.
        if need.app_requires && !need.plugin_requires && !((need.two_step_on || need.tenant_requires) && !remembered) {
            owes_factor = false;
        } else {
            record(svc, tenant, &account.id, "sign_in_no_second_factor", origin, client_id, json!({}))?;
            return Ok(page.message(
                svc,
                StatusCode::FORBIDDEN,
                "error",
                page.text("no_second_factor"),
                Some("no_second_factor"),
            ));
        }
    }
    let done = Finished {
        account: signed.account.clone(),
        amr: signed.amr,
        notices: Vec::new(),
        password_expired: signed.password_expired,
        flow: flow.map(str::to_string),
        next,
        remember: false,
    };
    if !owes_factor && !plugin_captcha {
        return finish(svc, tenant, headers, origin, done, page).await;
    }
    let pending = PendingSignIn {
        account_id: done.account.id.clone(),
        amr: done.amr,
        flow: done.flow,
        next: done.next,
        owes_captcha: plugin_captcha,
        owes_second_factor: owes_factor,
        may_remember: settings.sign_in.remember_device_days > 0 && !need.plugin_requires && !need.app_requires,
        notices: done.notices,
        password_expired: done.password_expired,
        failures: 0,
        expires_at: now + pending::LIFETIME,
    };
    to_verify(svc, tenant, &pending).await
}

/// Stores a pending sign-in and sends the browser to the page that collects what it owes.
pub async fn to_verify(svc: &Services, tenant: &str, pending: &PendingSignIn) -> ApiResult<Response> {
    let token = pending::start(&svc.store, tenant, pending)?;
    svc.store.commit().await?;
    let mut resp = respond::found(&format!("/t/{tenant}/login/verify"));
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(cookies::PENDING, &token, &cookies::session_path(tenant), None, svc.secure_cookies),
    );
    Ok(resp)
}

/// A sign-in with nothing left to prove.
pub struct Finished {
    pub account: Account,
    pub amr: Vec<String>,
    /// Notices a pending sign-in stored by an older version carried (R9); the
    /// account's own are taken when the session starts.
    pub notices: Vec<Notice>,
    pub password_expired: bool,
    pub flow: Option<String>,
    pub next: String,
    /// Remember this device for the second factor (R20).
    pub remember: bool,
}

impl Finished {
    pub fn from_pending(account: Account, p: PendingSignIn, remember: bool) -> Finished {
        Finished {
            account,
            amr: p.amr,
            notices: p.notices,
            password_expired: p.password_expired,
            flow: p.flow,
            next: p.next,
            remember: remember && p.may_remember,
        }
    }
}

/// Starts the session and answers the browser.
pub async fn finish(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    origin: &Origin,
    done: Finished,
    page: &Page,
) -> ApiResult<Response> {
    let now = svc.now();
    let settings = svc.tenants.get(tenant)?.settings;
    let existing_device = cookie(headers, cookies::DEVICE).filter(|d| d.len() == 43);
    let device = existing_device.clone().unwrap_or_else(secret::token);
    if let Some((old, _)) = cookies::session_of(svc, tenant, headers)? {
        svc.sessions.end(tenant, &old)?;
    }
    let account = &done.account;
    let (session_cookie, session) = svc.sessions.start(tenant, &account.id, done.amr.clone(), origin)?;
    let flow = done.flow.as_deref();
    let client_id =
        flow.and_then(|id| request::load_flow(&svc.store, tenant, id, now).ok().flatten()).map(|f| f.request.client_id);
    if let Some(id) = flow {
        request::mark_signed_in(&svc.store, tenant, id, &session.sid)?;
    }
    let remember = if done.remember {
        let days = settings.sign_in.remember_device_days;
        Some(remembered::remember(&svc.store, tenant, &account.id, account.security_epoch, days, now)?)
    } else {
        None
    };
    record(svc, tenant, &account.id, "sign_in", origin, client_id, json!({ "amr": done.amr, "acr": session.acr }))?;
    let new_device = svc.accounts.note_device(tenant, &account.id, &secret::digest(&device))?;
    svc.store.commit().await?;
    // R9: taken only now that the session has started, so a sign-in refused or
    // abandoned before this point leaves them on the account.
    let mut notices = done.notices;
    notices.extend(svc.accounts.take_notices(tenant, &account.id).await?);
    if new_device {
        let notice = Notice::NewDeviceSignIn { user_agent: origin.user_agent.clone(), ip: origin.ip.clone() };
        svc.accounts.notify(tenant, account, notice, page.locale.tag()).await;
    }

    let mut resp = if notices.is_empty() && !done.password_expired {
        respond::found(&done.next)
    } else {
        let texts: Vec<String> = notices
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
                "notices": texts, "password_expired": done.password_expired, "next": done.next,
                "change_password": format!("/t/{tenant}/account/password?next={}", urlencode(&done.next)),
            }),
        )
    };
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(cookies::SESSION, &session_cookie, &cookies::session_path(tenant), None, svc.secure_cookies),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(cookies::PENDING, "", &cookies::session_path(tenant), Some(0), svc.secure_cookies),
    );
    if existing_device.is_none() {
        h.append(
            header::SET_COOKIE,
            set_cookie(cookies::DEVICE, &device, "/", Some(cookies::DEVICE_AGE), svc.secure_cookies),
        );
    }
    if let Some(token) = remember {
        let age = settings.sign_in.remember_device_days * 24 * 3600;
        h.append(
            header::SET_COOKIE,
            set_cookie(cookies::REMEMBER, &token, &cookies::session_path(tenant), Some(age), svc.secure_cookies),
        );
    }
    Ok(resp)
}

/// Records a security event of the sign-in (who, what, when, IP, client).
pub fn record(
    svc: &Services,
    tenant: &str,
    account_id: &str,
    action: &str,
    origin: &Origin,
    client: Option<String>,
    detail: serde_json::Value,
) -> ApiResult<()> {
    let event = AuditEvent {
        at: svc.now(),
        actor: account_id.to_string(),
        action: action.to_string(),
        subject: None,
        ip: Some(origin.ip.clone()),
        client,
        detail,
    };
    Ok(audit::record(&svc.store, tenant, &event)?)
}

/// For a page script (passkeys): a redirect becomes `{"redirect": url}` with the same
/// cookies, so the script can navigate; any other answer is left as it is.
pub fn for_script(resp: Response) -> Response {
    if !resp.status().is_redirection() {
        return resp;
    }
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("/").to_string();
    let cookies: Vec<HeaderValue> = resp.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
    let mut out = Json(json!({ "redirect": location })).into_response();
    for c in cookies {
        out.headers_mut().append(header::SET_COOKIE, c);
    }
    out
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
