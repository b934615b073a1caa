//! Recovery pages: forgot password (R34) by a code to the account's recovery mobile
//! or email, then a new password; forgot account (R35) by SMS. Every answer before the
//! code is proved is the same whether or not an account exists (R36).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::settings::TenantSettings;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiResult;
use crate::http::FormBody;
use crate::state::AppState;
use crate::ui::feedback::{failure, password_rules};
use crate::ui::login::{nonempty, page_for};
use crate::ui::page::Page;

/// Which part of recovery the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Forgot password: enter an identifier.
    Start,
    /// Forgot password: the code and the new password.
    Code,
    /// Forgot account: enter the mobile.
    Account,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Start => "start",
            Step::Code => "code",
            Step::Account => "account",
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
}

#[derive(Deserialize)]
struct AccountForm {
    csrf: Option<String>,
    flow: Option<String>,
    #[serde(default)]
    mobile: String,
}

/// What the page shows besides the form of its step.
struct View<'a> {
    step: Step,
    identifier: &'a str,
    mobile: &'a str,
    error: Option<String>,
    info: Option<String>,
    status: StatusCode,
}

impl<'a> View<'a> {
    fn new(step: Step) -> Self {
        View { step, identifier: "", mobile: "", error: None, info: None, status: StatusCode::OK }
    }
}

fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    settings: &TenantSettings,
    flow: Option<&str>,
    view: View<'_>,
) -> Response {
    page.render(
        svc,
        view.status,
        "recover.html",
        json!({
            "step": view.step.as_str(), "identifier": view.identifier, "mobile": view.mobile,
            "error": view.error, "info": view.info, "flow": flow.unwrap_or(""),
            "password_rules": password_rules(page, &settings.password), "base": format!("/t/{tenant}"),
        }),
    )
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<FlowQuery>,
) -> ApiResult<Response> {
    let flow = nonempty(&q.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    let settings = svc.tenants.get(&tenant)?.settings;
    Ok(render(&svc, &tenant, &page, &settings, flow, View::new(Step::Start)))
}

async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<RecoverForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.csrf_refused(&svc));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let view = match svc.accounts.start_recovery(&tenant, &settings, &form.identifier, &ip, page.locale.tag()).await {
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
    Ok(render(&svc, &tenant, &page, &settings, flow, view))
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<RecoverForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.csrf_refused(&svc));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    let retry = |error: String, status: StatusCode| View {
        identifier: &form.identifier,
        error: Some(error),
        status,
        ..View::new(Step::Code)
    };
    if form.password != form.password2 {
        let view = retry(page.text("passwords_differ").to_string(), StatusCode::BAD_REQUEST);
        return Ok(render(&svc, &tenant, &page, &settings, flow, view));
    }
    let code = form.code.trim();
    match svc
        .accounts
        .finish_recovery(&tenant, &settings, &form.identifier, code, &form.password, page.locale.tag())
        .await
    {
        Ok(account_id) => {
            // Whoever was signed in with the old password is signed out everywhere.
            svc.sessions.end_all(&tenant, &account_id, None)?;
            svc.store.commit().await?;
            let login = match flow {
                Some(id) => format!("/t/{tenant}/login?flow={id}"),
                None => format!("/t/{tenant}/login"),
            };
            Ok(page.render(
                &svc,
                StatusCode::OK,
                "done.html",
                json!({
                    "title": page.text("password_changed"), "text": page.text("password_changed_sign_in"),
                    "link": login, "link_text": page.text("sign_in"),
                }),
            ))
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            Ok(render(&svc, &tenant, &page, &settings, flow, retry(f.text, f.status)))
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
    let page = page_for(&svc, &tenant, &headers, flow);
    let settings = svc.tenants.get(&tenant)?.settings;
    Ok(render(&svc, &tenant, &page, &settings, flow, View::new(Step::Account)))
}

async fn send_account_names(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormBody(form): FormBody<AccountForm>,
) -> ApiResult<Response> {
    let flow = nonempty(&form.flow);
    let page = page_for(&svc, &tenant, &headers, flow);
    if !Page::csrf_ok(&headers, form.csrf.as_deref()) {
        return Ok(page.csrf_refused(&svc));
    }
    let settings = svc.tenants.get(&tenant)?.settings;
    let ip = peer.ip().to_string();
    let mut view = View { mobile: &form.mobile, ..View::new(Step::Account) };
    match svc.accounts.send_account_names(&tenant, &settings, &form.mobile, &ip, page.locale.tag()).await {
        Ok(_) => view.info = Some(page.text("account_names_sent").to_string()),
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.error, view.status) = (Some(f.text), f.status);
        }
    }
    Ok(render(&svc, &tenant, &page, &settings, flow, view))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/recover", get(show).post(submit))
        .route("/t/{tenant}/recover/code", post(send_code))
        .route("/t/{tenant}/recover/account", get(show_account).post(send_account_names))
}
