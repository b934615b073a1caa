//! After a first factor (any method): the browser's facts go to `SignIns`, and its
//! `SignInStep` is rendered: a refusal, the page collecting what the sign-in still
//! owes (R20), or the session cookies and back into the authorization flow (R18),
//! first showing what the person must know (R9 notices, R4 password age).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use latchkey_core::account::signin::SignedIn;
use latchkey_core::code::{Message, MessageKind};
use latchkey_core::session::Origin;
pub use latchkey_core::signin::Finished;
use latchkey_core::signin::{Browser, Completed, SignInStep};
use serde_json::json;

use crate::outbox::render;
use crate::state::Services;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::{cookie, set_cookie};
use crate::web::page::Page;
use crate::web::paths;
use crate::web::respond;
pub use crate::web::sign_in::owes;

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

/// The browser's cookies a sign-in step reads.
pub struct Held {
    device: Option<String>,
    remember: Option<String>,
    session: Option<String>,
}

impl Held {
    /// Reads them from the request.
    pub fn of(headers: &HeaderMap) -> Held {
        Held {
            device: cookie(headers, cookies::DEVICE),
            remember: cookie(headers, cookies::REMEMBER),
            session: cookie(headers, cookies::SESSION),
        }
    }

    /// The browser's side of a sign-in step, for `SignIns`.
    pub fn browser<'a>(&'a self, origin: &'a Origin, page: &'a Page) -> Browser<'a> {
        Browser {
            origin,
            device: self.device.as_deref(),
            remember: self.remember.as_deref(),
            session: self.session.as_deref(),
            locale: page.locale.tag(),
        }
    }
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
    let held = Held::of(headers);
    let step = svc.signins.after_first_factor(tenant, held.browser(origin, page), flow, signed, next).await?;
    render_step(svc, tenant, page, step)
}

/// Answers the browser for a sign-in step; a refused first factor (which its own
/// page renders) is the error itself.
pub fn render_step(svc: &Services, tenant: &str, page: &Page, step: SignInStep) -> ApiResult<Response> {
    Ok(match step {
        SignInStep::Failed { error, .. } => return Err(error.into()),
        SignInStep::Denied { reason, message } => {
            page.message(svc, StatusCode::FORBIDDEN, "error", &message, Some(&reason))
        }
        SignInStep::NoSecondFactor => {
            page.message(svc, StatusCode::FORBIDDEN, "error", page.text("no_second_factor"), Some("no_second_factor"))
        }
        SignInStep::Owes { token } => owes(svc, tenant, &token),
        SignInStep::SignedIn(done) => started(svc, tenant, page, done),
    })
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
    let held = Held::of(headers);
    let done = svc.signins.finish(tenant, held.browser(origin, page), done).await?;
    Ok(started(svc, tenant, page, done))
}

/// The answer to a started session: the notices page (R9, R4) or straight on, with
/// the session, device and remember cookies.
pub fn started(svc: &Services, tenant: &str, page: &Page, done: Completed) -> Response {
    let mut resp = if done.notices.is_empty() && !done.password_expired {
        respond::found(&done.next)
    } else {
        let texts: Vec<String> = done
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
                "notices": texts, "password_expired": done.password_expired, "next": done.next,
                "change_password": format!("{}?next={}", paths::tenant(tenant, paths::PASSWORD), urlencode(&done.next)),
            }),
        )
    };
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(cookies::SESSION, &done.session_cookie, &cookies::session_path(tenant), None, svc.secure_cookies),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(cookies::PENDING, "", &cookies::session_path(tenant), Some(0), svc.secure_cookies),
    );
    if let Some(device) = &done.device_cookie {
        h.append(
            header::SET_COOKIE,
            set_cookie(cookies::DEVICE, device, "/", Some(cookies::DEVICE_AGE), svc.secure_cookies),
        );
    }
    if let Some((token, age)) = &done.remember {
        h.append(
            header::SET_COOKIE,
            set_cookie(cookies::REMEMBER, token, &cookies::session_path(tenant), Some(*age), svc.secure_cookies),
        );
    }
    resp
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
