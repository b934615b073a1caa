//! The registration page (R1 to R3): by mobile, by email, or by account name with a
//! security mobile; a code by SMS, voice call or email; a recycled number taken over
//! after proving possession (R9). Then the person is signed in like on the sign-in
//! page, passing the optional security-email step (R5) on the way back to the app.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::account::registration::{RegisterBy, Registration};
use latchkey_core::account::signin::SignedIn;
use latchkey_core::code::{Channel, Destination};
use latchkey_core::settings::TenantSettings;
use latchkey_core::{Error, IdentifierKind};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::ui::login::{nonempty, page_for};
use crate::ui::signed_in::{self, urlencode};
use crate::web::error::ApiResult;
use crate::web::extract::{FlowForm, InFlow};
use crate::web::feedback::{failure, password_rules};
use crate::web::http::origin;
use crate::web::page::Page;
use crate::web::paths;

/// Which identifier the account is registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// R1.
    Mobile,
    /// R2.
    Email,
    /// R3: an account name, and a mobile that becomes the security phone.
    Name,
}

impl By {
    /// Parses `?by=` / the form's `by`; anything unknown is the default, mobile.
    fn parse(s: Option<&str>) -> By {
        match s {
            Some("email") => By::Email,
            Some("name") => By::Name,
            _ => By::Mobile,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            By::Mobile => "mobile",
            By::Email => "email",
            By::Name => "name",
        }
    }
}

#[derive(Deserialize)]
struct RegisterQuery {
    flow: Option<String>,
    by: Option<String>,
}

/// The registration form. The send-code buttons post the same form to
/// `/register/code` (`formaction`), so what was typed survives without JavaScript.
#[derive(Deserialize)]
struct RegisterForm {
    csrf: Option<String>,
    flow: Option<String>,
    by: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    /// The password again; must equal `password`.
    #[serde(default)]
    password2: String,
    /// Present when the person ticked "this number was recycled and is mine now" (R9).
    take_over: Option<String>,
    /// How the code travels: `sms` or `voice` for a mobile (the button pressed).
    channel: Option<Channel>,
}
crate::flow_form!(RegisterForm);

impl RegisterForm {
    fn by(&self) -> By {
        By::parse(self.by.as_deref())
    }
}

/// What the page shows besides the form.
#[derive(Default)]
struct View<'a> {
    name: &'a str,
    mobile: &'a str,
    email: &'a str,
    error: Option<String>,
    info: Option<String>,
    /// Offer the recycled-number checkbox (R9).
    take_over_offer: bool,
    status: Option<StatusCode>,
}

async fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    settings: &TenantSettings,
    flow: Option<&str>,
    by: By,
    view: View<'_>,
) -> ApiResult<Response> {
    let t = svc.tenants.get(tenant).await?;
    let client_id = match flow {
        Some(id) => svc.accounts.flow_client(tenant, id).await?,
        None => None,
    };
    let client_name = match client_id {
        Some(id) => svc.clients.get(tenant, &id).await.ok().map(|c| c.name),
        None => None,
    };
    let status = view.status.unwrap_or(if view.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK });
    Ok(page.render(
        svc,
        status,
        "register.html",
        json!({
            "tenant_name": t.display_name, "client_name": client_name, "flow": flow.unwrap_or(""),
            "by": by.as_str(), "name": view.name, "mobile": view.mobile, "email": view.email,
            "error": view.error, "info": view.info, "take_over_offer": view.take_over_offer,
            "password_rules": password_rules(page, &settings.password),
            "open": settings.registration.enabled, "base": paths::tenant(tenant, ""),
        }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<RegisterQuery>,
) -> ApiResult<Response> {
    let flow = nonempty(&q.flow);
    let page = page_for(&svc, &tenant, &headers, flow).await;
    let settings = svc.tenants.get(&tenant).await?.settings;
    render(&svc, &tenant, &page, &settings, flow, By::parse(q.by.as_deref()), View::default()).await
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FlowForm { page, form, .. }: FlowForm<RegisterForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let by = form.by();
    let to = match by {
        By::Email => Destination::email(&form.email),
        By::Mobile | By::Name => {
            let channel = if form.channel == Some(Channel::Voice) { Channel::Voice } else { Channel::Sms };
            Destination { channel, address: form.mobile.clone() }
        }
    };
    let mut view = View { name: &form.name, mobile: &form.mobile, email: &form.email, ..View::default() };
    match accounts.send_register_code(&to, &peer.ip().to_string(), page.locale.tag()).await {
        Ok(_) => {
            let key = if to.channel == Channel::Voice { "code_sent_voice" } else { "code_sent" };
            view.info = Some(page.text(key).to_string());
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.status, view.error) = (Some(f.status), Some(f.text));
        }
    }
    render(&svc, &tenant, &page, settings, flow, by, view).await
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FlowForm { page, form, .. }: FlowForm<RegisterForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let by = form.by();
    let mut view = View { name: &form.name, mobile: &form.mobile, email: &form.email, ..View::default() };
    if form.password != form.password2 {
        view.error = Some(page.text("passwords_differ").to_string());
        return render(&svc, &tenant, &page, settings, flow, by, view).await;
    }
    let reg = Registration {
        by: match by {
            By::Mobile => RegisterBy::Mobile { mobile: form.mobile.clone() },
            By::Email => RegisterBy::Email { email: form.email.clone() },
            By::Name => RegisterBy::Name { name: form.name.clone(), mobile: form.mobile.clone() },
        },
        password: form.password.clone(),
        code: form.code.trim().to_string(),
        take_over: form.take_over.is_some(),
    };
    let facts = crate::web::http::facts(&headers, Some(peer), None);
    match accounts.register(&facts, reg).await {
        Ok(done) => {
            let needs_email = done.account.email().is_none();
            let signed = SignedIn { account: done.account, password_expired: false, amr: vec!["pwd".into()] };
            let from = origin(&headers, Some(peer));
            if needs_email {
                // R5: offer a security email first; the page's Skip link goes on.
                let back = urlencode(&paths::next_after_sign_in(&tenant, flow));
                let next = format!("{}?welcome=1&next={back}", paths::tenant(&tenant, paths::EMAIL));
                signed_in::complete_to(&svc, &tenant, &headers, &from, flow, signed, &page, next).await
            } else {
                signed_in::complete(&svc, &tenant, &headers, &from, flow, signed, &page).await
            }
        }
        Err(Error::IdentifierTaken(IdentifierKind::Mobile))
            if by == By::Mobile && settings.registration.allow_number_takeover =>
        {
            // R9: the number signs another account in. Its new owner, holding the code,
            // may take the number over; the old account is told at its next sign-in.
            view.take_over_offer = true;
            view.status = Some(StatusCode::CONFLICT);
            view.error = Some(page.text("taken_mobile_recycled").to_string());
            render(&svc, &tenant, &page, settings, flow, by, view).await
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.status, view.error) = (Some(f.status), Some(f.text));
            render(&svc, &tenant, &page, settings, flow, by, view).await
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/register", get(show).post(submit))
        .route("/t/{tenant}/register/code", post(send_code))
}
