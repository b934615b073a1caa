//! Recovery pages: forgot password (R34) by a code to the account's recovery mobile
//! or email, then a new password, or by a link emailed to the account's email, whose
//! page asks for the new password; forgot account (R35) by SMS. Every answer before
//! the code or link is proved is the same whether or not an account exists (R36).
//! Every form that sends something carries a CAPTCHA, checked in core (R19).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::Error;
use latchkey_core::account::recovery::Ask;
use latchkey_core::settings::TenantSettings;
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::ui::login::{nonempty, page_for};
use crate::web::error::ApiResult;
use crate::web::extract::{CsrfForm, FlowForm, InFlow, Posted};
use crate::web::feedback::{failure, fill, password_rules};
use crate::web::page::{Page, private_url};
use crate::web::paths;

/// Which part of recovery the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Forgot password: enter an identifier.
    Start,
    /// Forgot password: the code and the new password.
    Code,
    /// Forgot account: enter the mobile.
    Account,
    /// Forgot password: the new password, on the page an emailed link opens.
    Link,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Code => "code",
            Step::Account => "account",
            Step::Link => "link",
        }
    }
}

#[derive(Deserialize)]
struct FlowQuery {
    flow: Option<String>,
}

#[derive(Deserialize)]
struct RecoverForm {
    csrf: Option<String>,
    flow: Option<String>,
    /// A mobile, email, account name or account id.
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    /// The new password again; must equal `password`.
    #[serde(default)]
    password2: String,
    /// The CAPTCHA answer (`id:nonce`) when sending a code (R19).
    captcha: Option<String>,
}

#[derive(Deserialize)]
struct AccountForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    mobile: String,
    /// The CAPTCHA answer (`id:nonce`, R19).
    captcha: Option<String>,
}

/// "Email me a link" on the start page.
#[derive(Deserialize)]
struct LinkSendForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    email: String,
    /// The CAPTCHA answer (`id:nonce`, R19).
    captcha: Option<String>,
}

#[derive(Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

/// The new password on the page a recovery link opens.
#[derive(Deserialize)]
struct LinkForm {
    csrf: Option<String>,
    /// The link's token, carried from its URL.
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    /// The new password again; must equal `password`.
    #[serde(default)]
    password2: String,
}

crate::flow_form!(RecoverForm, AccountForm, LinkSendForm);

/// The link page has no flow and no language of its own: the browser's.
impl Posted for LinkForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
    fn ui_locales(&self) -> Option<&str> {
        None
    }
}

/// What the page shows besides the form of its step.
struct View<'a> {
    step: Step,
    identifier: &'a str,
    mobile: &'a str,
    email: &'a str,
    token: &'a str,
    /// The error or info is about the start page's "email me a link" form.
    about_link: bool,
    error: Option<String>,
    info: Option<String>,
    status: StatusCode,
}

impl<'a> View<'a> {
    fn new(step: Step) -> Self {
        View {
            step,
            identifier: "",
            mobile: "",
            email: "",
            token: "",
            about_link: false,
            error: None,
            info: None,
            status: StatusCode::OK,
        }
    }
}

/// Renders the page of `view.step`. Every form on it that sends a code, link or
/// account names carries a fresh CAPTCHA challenge (R19): the start page two (code and
/// link), the code page one (send again), the forgot-account page one. An answer works
/// once, so each render, failed tries included, issues new ones.
async fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    settings: &TenantSettings,
    flow: Option<&str>,
    view: View<'_>,
) -> ApiResult<Response> {
    let issue = || svc.accounts.captchas().issue(tenant, settings.sign_in.captcha_difficulty);
    let (captcha, link_captcha) = match view.step {
        Step::Start => (Some(issue().await?), Some(issue().await?)),
        Step::Code | Step::Account => (Some(issue().await?), None),
        Step::Link => (None, None),
    };
    Ok(page.render(
        svc,
        view.status,
        "recover.html",
        json!({
            "step": view.step.as_str(), "identifier": view.identifier, "mobile": view.mobile,
            "email": view.email, "token": view.token, "about_link": view.about_link,
            "error": view.error, "info": view.info, "flow": flow.unwrap_or(""),
            "password_rules": password_rules(page, &settings.password), "base": paths::tenant(tenant, ""),
            "captcha": captcha, "link_captcha": link_captcha,
            "captcha_working": page.text("captcha_working"), "captcha_done": page.text("captcha_done"),
            "captcha_noscript": page.text("captcha_noscript"),
        }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let flow = nonempty(&q.flow);
    let page = page_for(&svc, &tenant, &headers, flow).await;
    let settings = svc.tenants.get(&tenant).await?.settings;
    render(&svc, &tenant, &page, &settings, flow, View::new(Step::Start)).await
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FlowForm { page, form, .. }: FlowForm<RecoverForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: page.locale.tag(), captcha: form.captcha.as_deref() };
    let view = match accounts.start_recovery(&form.identifier, &ask).await {
        Ok(_) => View {
            identifier: &form.identifier,
            info: Some(page.text("recover_code_sent").to_string()),
            ..View::new(Step::Code)
        },
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            View { identifier: &form.identifier, error: Some(f.text), status: f.status, ..View::new(Step::Start) }
        }
    };
    render(&svc, &tenant, &page, settings, flow, view).await
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    FlowForm { page, form, .. }: FlowForm<RecoverForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let retry = |error: String, status: StatusCode| View {
        identifier: &form.identifier,
        error: Some(error),
        status,
        ..View::new(Step::Code)
    };
    if form.password != form.password2 {
        let view = retry(page.text("passwords_differ").to_string(), StatusCode::BAD_REQUEST);
        return render(&svc, &tenant, &page, settings, flow, view).await;
    }
    let code = form.code.trim();
    match accounts.finish_recovery(&form.identifier, code, &form.password, page.locale.tag()).await {
        Ok(account_id) => password_changed(&svc, &tenant, &page, flow, &account_id).await,
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            render(&svc, &tenant, &page, settings, flow, retry(f.text, f.status)).await
        }
    }
}

/// After a reset: whoever was signed in with the old password is signed out
/// everywhere, and the person is sent to sign in with the new one.
async fn password_changed(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    flow: Option<&str>,
    account_id: &str,
) -> ApiResult<Response> {
    svc.sessions.sign_out_others(tenant, account_id, None).await?;
    let login = match flow {
        Some(id) => format!("{}?flow={id}", paths::tenant(tenant, paths::LOGIN)),
        None => paths::tenant(tenant, paths::LOGIN),
    };
    Ok(page.render(
        svc,
        StatusCode::OK,
        "done.html",
        json!({
            "title": page.text("password_changed"), "text": page.text("password_changed_sign_in"),
            "link": login, "link_text": page.text("sign_in"),
        }),
    ))
}

/// Emails a recovery link to the account using `email`, if there is one; the page
/// says the same either way (R36).
async fn send_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FlowForm { page, form, .. }: FlowForm<LinkSendForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let url = format!("{}{}", svc.issuer(&tenant), paths::RECOVER_LINK_PAGE);
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: page.locale.tag(), captcha: form.captcha.as_deref() };
    let mut view = View { email: &form.email, about_link: true, ..View::new(Step::Start) };
    match accounts.start_recovery_link(&form.email, &ask, &url).await {
        Ok(sent) => {
            let minutes = sent.expires_in.div_ceil(60).to_string();
            view.info = Some(fill(page.text("recover_link_sent"), &[("m", &minutes)]));
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.error, view.status) = (Some(f.text), f.status);
        }
    }
    render(&svc, &tenant, &page, settings, flow, view).await
}

/// The page a recovery link opens: the new-password form while the link is good.
/// Opening it does not use the link up.
async fn show_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, None);
    let settings = svc.tenants.get(&tenant).await?.settings;
    let token = q.token.unwrap_or_default();
    if !svc.accounts.recovery_link_valid(&tenant, &token).await {
        return Ok(page.link_dead(&svc));
    }
    let view = View { token: &token, ..View::new(Step::Link) };
    Ok(private_url(render(&svc, &tenant, &page, &settings, None, view).await?))
}

async fn finish_link(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    CsrfForm { page, form }: CsrfForm<LinkForm>,
) -> ApiResult<Response> {
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let retry = |error: String, status: StatusCode| View {
        token: &form.token,
        error: Some(error),
        status,
        ..View::new(Step::Link)
    };
    if form.password != form.password2 {
        let view = retry(page.text("passwords_differ").to_string(), StatusCode::BAD_REQUEST);
        return render(&svc, &tenant, &page, settings, None, view).await;
    }
    match accounts.finish_recovery_link(&form.token, &form.password, page.locale.tag()).await {
        Ok(account_id) => password_changed(&svc, &tenant, &page, None, &account_id).await,
        Err(Error::CodeInvalid | Error::CodeExpired) => Ok(page.link_dead(&svc)),
        // The password was refused before the link was used: it still works.
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            render(&svc, &tenant, &page, settings, None, retry(f.text, f.status)).await
        }
    }
}

async fn show_account(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let flow = nonempty(&q.flow);
    let page = page_for(&svc, &tenant, &headers, flow).await;
    let settings = svc.tenants.get(&tenant).await?.settings;
    render(&svc, &tenant, &page, &settings, flow, View::new(Step::Account)).await
}

async fn send_account_names(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FlowForm { page, form, .. }: FlowForm<AccountForm>,
) -> ApiResult<Response> {
    let flow = form.flow();
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let ip = peer.ip().to_string();
    let ask = Ask { ip: &ip, locale: page.locale.tag(), captcha: form.captcha.as_deref() };
    let mut view = View { mobile: &form.mobile, ..View::new(Step::Account) };
    match accounts.send_account_names(&form.mobile, &ask).await {
        Ok(_) => view.info = Some(page.text("account_names_sent").to_string()),
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.error, view.status) = (Some(f.text), f.status);
        }
    }
    render(&svc, &tenant, &page, settings, flow, view).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/recover", get(show).post(submit))
        .route("/t/{tenant}/recover/code", post(send_code))
        .route("/t/{tenant}/recover/account", get(show_account).post(send_account_names))
        .route(&paths::route(paths::RECOVER_LINK_PAGE), get(show_link).post(finish_link))
        .route("/t/{tenant}/recover/link/send", post(send_link))
}
