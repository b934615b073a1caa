//! The change-email and change-mobile pages (R24, R25): a code to the current value,
//! then the new value and its code; an account without one adds it with a code only.
//! A mobile's code comes by SMS or, on request, a voice call (R37). No state is kept
//! between steps: the form carries what was typed and the codes themselves prove each
//! step. After registration the add-email page is the optional security-email step
//! (R5, `?welcome=1`), with a Skip link to `next`; instead of a code it can send a
//! link, which `email_confirm` opens. Adding a value (or asking for the link) needs
//! the current password (issue 10 item 1).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use latchkey_core::account::channels::{CodeTarget, EMAIL_LINK_LIFETIME, default_channel};
use latchkey_core::account::password::Proof;
use latchkey_core::account::{Account, Binding, Kind, mask};
use latchkey_core::code::Channel;
use latchkey_core::settings::TenantSettings;
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::ui::account::{kind_text, safe_next};
use crate::web::error::ApiResult;
use crate::web::extract::{Holder, HolderForm};
use crate::web::feedback::{failure, fill};
use crate::web::page::Page;
use crate::web::paths;

/// Which code a send-code button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Target {
    /// To the current value (step 1).
    Current,
    /// To the new value (step 2).
    New,
}

#[derive(Deserialize)]
struct ChannelQuery {
    /// Present right after registration (R5).
    welcome: Option<String>,
    next: Option<String>,
    /// The language the linking app asks for.
    ui_locales: Option<String>,
}

/// How a send-code button wants the code (`.../code?channel=voice`); by default SMS
/// for a mobile, email for an email.
#[derive(Deserialize)]
struct SendQuery {
    channel: Option<Channel>,
}

crate::posted_form!(ChannelForm);

/// The one form of the page; the send-code buttons post it to `.../code`.
#[derive(Deserialize)]
struct ChannelForm {
    csrf: Option<String>,
    welcome: Option<String>,
    next: Option<String>,
    /// The code sent to the current value.
    #[serde(default)]
    current_code: String,
    /// The new mobile or email.
    #[serde(default)]
    value: String,
    /// The code sent to the new value.
    #[serde(default)]
    code: String,
    /// The identity check when adding a value (issue 10 item 1).
    #[serde(default)]
    current_password: String,
    target: Option<Target>,
    ui_locales: Option<String>,
}

#[derive(Default)]
struct View<'a> {
    /// Right after registration, when the account has no value of this kind yet (R5).
    welcome: bool,
    current_code: &'a str,
    value: &'a str,
    code: &'a str,
    error: Option<String>,
    info: Option<String>,
    status: StatusCode,
}

impl<'a> View<'a> {
    fn of(form: &'a ChannelForm) -> Self {
        View {
            welcome: form.welcome.is_some(),
            current_code: form.current_code.trim(),
            value: form.value.trim(),
            code: form.code.trim(),
            ..View::default()
        }
    }
}

/// The account's current value of `kind`, as the change will replace it.
fn current(account: &Account, kind: Kind) -> Option<&Binding> {
    match kind {
        Kind::Email => account.email(),
        Kind::Mobile => account.mobile(),
    }
}

fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    account: &Account,
    kind: Kind,
    next: Option<&str>,
    view: View<'_>,
) -> Response {
    let current = current(account, kind).map(|b| mask(b.kind, &b.value));
    // Adding a value needs the current password (issue 10 item 1).
    let ask_password = current.is_none() && account.password.is_some();
    let title = match (kind, current.is_some()) {
        (Kind::Email, true) => "change_email",
        (Kind::Email, false) => "add_email",
        (Kind::Mobile, true) => "change_mobile",
        (Kind::Mobile, false) => "add_mobile",
    };
    let base = paths::tenant(tenant, "");
    let skip = next.map(str::to_string).unwrap_or_else(|| format!("{base}/account"));
    page.render(
        svc,
        view.status,
        "channel.html",
        json!({
            "kind": kind.as_str(), "kind_text": kind_text(page, kind), "title": page.text(title),
            "welcome": view.welcome && current.is_none(), "current": current, "next": next.unwrap_or(""),
            "ask_password": ask_password,
            "skip": page.keep_locale(&skip),
            "link_hint": fill(page.text("email_link_hint"), &[("h", &(EMAIL_LINK_LIFETIME / 3600).to_string())]),
            "current_code": view.current_code, "value": view.value, "code": view.code,
            "error": view.error, "info": view.info, "action": format!("{base}/account/{}", kind.as_str()), "base": base,
        }),
    )
}

async fn show(
    State(svc): State<AppState>,
    Path((tenant, kind)): Path<(String, Kind)>,
    headers: HeaderMap,
    Query(q): Query<ChannelQuery>,
    Holder { account, .. }: Holder,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let next = safe_next(&tenant, q.next.as_deref());
    let view = View { welcome: q.welcome.is_some(), ..View::default() };
    Ok(render(&svc, &tenant, &page, &account, kind, next.as_deref(), view))
}

/// The password typed as the identity check, if any.
fn password_proof(form: &ChannelForm) -> Option<Proof<'_>> {
    Some(form.current_password.as_str()).filter(|p| !p.is_empty()).map(Proof::Password)
}

fn refused(page: &Page, settings: &TenantSettings, view: &mut View<'_>, e: latchkey_core::Error) -> ApiResult<()> {
    let f = failure(page, &settings.password, e)?;
    (view.error, view.status) = (Some(f.text), f.status);
    Ok(())
}

async fn send_code(
    State(svc): State<AppState>,
    Path((tenant, kind)): Path<(String, Kind)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<SendQuery>,
    posted: HolderForm<ChannelForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    let session = holder.session;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let next = safe_next(&tenant, form.next.as_deref());
    let mut view = View::of(&form);
    let target = match form.target {
        Some(Target::Current) => CodeTarget::Current,
        _ => CodeTarget::New(view.value.to_string()),
    };
    let channel = q.channel.unwrap_or(default_channel(kind));
    let ip = peer.ip().to_string();
    match accounts.send_channel_code(&session.account_id, kind, target, channel, &ip, page.locale.tag()).await {
        Ok(_) => {
            let key = if channel == Channel::Voice { "code_sent_voice" } else { "code_sent" };
            view.info = Some(page.text(key).to_string());
        }
        Err(e) => refused(&page, settings, &mut view, e)?,
    }
    let account = svc.accounts.get(&tenant, &session.account_id).await?;
    Ok(render(&svc, &tenant, &page, &account, kind, next.as_deref(), view))
}

async fn submit(
    State(svc): State<AppState>,
    Path((tenant, kind)): Path<(String, Kind)>,
    posted: HolderForm<ChannelForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    let session = holder.session;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let next = safe_next(&tenant, form.next.as_deref());
    let mut view = View::of(&form);
    let current_code = Some(view.current_code).filter(|c| !c.is_empty());
    let changed = accounts
        .change_channel(
            &session.account_id,
            kind,
            current_code,
            password_proof(&form),
            view.value,
            view.code,
            page.locale.tag(),
        )
        .await;
    match changed {
        Ok(_) => {
            let to =
                next.unwrap_or_else(|| format!("{}?done={}", paths::tenant(&tenant, paths::ACCOUNT), kind.as_str()));
            Ok(Redirect::to(&page.keep_locale(&to)).into_response())
        }
        Err(e) => {
            refused(&page, settings, &mut view, e)?;
            let account = svc.accounts.get(&tenant, &session.account_id).await?;
            Ok(render(&svc, &tenant, &page, &account, kind, next.as_deref(), view))
        }
    }
}

/// R5: instead of a code, a link to the new security email; whoever opens it (with or
/// without this session) adds the email. Only for an account without one.
async fn send_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    posted: HolderForm<ChannelForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    let session = holder.session;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let next = safe_next(&tenant, form.next.as_deref());
    let mut view = View::of(&form);
    let url = format!("{}{}", svc.issuer(&tenant), paths::EMAIL_LINK_PAGE);
    let ip = peer.ip().to_string();
    match accounts
        .send_email_link(&session.account_id, password_proof(&form), view.value, &ip, page.locale.tag(), &url)
        .await
    {
        Ok(_) => view.info = Some(page.text("email_link_sent").to_string()),
        Err(e) => refused(&page, settings, &mut view, e)?,
    }
    let account = svc.accounts.get(&tenant, &session.account_id).await?;
    Ok(render(&svc, &tenant, &page, &account, Kind::Email, next.as_deref(), view))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/{kind}", get(show).post(submit))
        .route("/t/{tenant}/account/{kind}/code", post(send_code))
        .route("/t/{tenant}/account/email/link", post(send_link))
}
