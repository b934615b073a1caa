//! The change-password page (R23, R27): prove identity with the current password or,
//! "use another method", a code sent to one of the account's recovery channels; then
//! the new password twice. Other devices are signed out. `?next=` (a path inside the
//! tenant) is where to continue afterwards, as from the password-age prompt.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_core::account::password::Proof;
use latchkey_core::account::{Account, Accounts, Kind, mask};
use latchkey_core::settings::TenantSettings;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::ui::account::safe_next;
use crate::ui::signed_in::urlencode;
use crate::web::error::ApiResult;
use crate::web::extract::{Holder, HolderForm};
use crate::web::feedback::{failure, password_rules};
use crate::web::page::Page;
use crate::web::paths;

/// How the person proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Method {
    /// The current password.
    Password,
    /// A code to a recovery channel.
    Code,
}

#[derive(Deserialize)]
struct PasswordQuery {
    method: Option<Method>,
    next: Option<String>,
    /// The language the linking app asks for.
    ui_locales: Option<String>,
}

crate::posted_form!(PasswordForm);

#[derive(Deserialize)]
struct PasswordForm {
    csrf: Option<String>,
    method: Option<Method>,
    next: Option<String>,
    #[serde(default)]
    current_password: String,
    /// Which recovery channel (its position in the page's list) the code went to.
    via: Option<usize>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    /// The new password again; must equal `password`.
    #[serde(default)]
    password2: String,
    ui_locales: Option<String>,
}

/// The account's recovery channels, in the order the page lists them (R27).
fn code_methods(account: &Account) -> Vec<(Kind, String)> {
    Accounts::identity_methods(account)
        .into_iter()
        .filter_map(|(method, address)| Some((if method == "email" { Kind::Email } else { Kind::Mobile }, address?)))
        .collect()
}

struct View {
    method: Method,
    via: Option<usize>,
    code: String,
    error: Option<String>,
    info: Option<String>,
    status: StatusCode,
}

impl View {
    fn new(method: Method) -> Self {
        View { method, via: None, code: String::new(), error: None, info: None, status: StatusCode::OK }
    }
}

fn render(
    svc: &AppState,
    tenant: &str,
    page: &Page,
    settings: &TenantSettings,
    account: &Account,
    next: Option<&str>,
    view: View,
) -> Response {
    let methods: Vec<Value> = code_methods(account)
        .iter()
        .enumerate()
        .map(|(i, (kind, value))| {
            json!({ "index": i, "kind": page.text(kind.as_str()), "value": mask(*kind, value), "checked": view.via.unwrap_or(0) == i })
        })
        .collect();
    let has_password = account.password.is_some();
    let method = if has_password { view.method } else { Method::Code };
    page.render(
        svc,
        view.status,
        "password.html",
        json!({
            "method": if method == Method::Code { "code" } else { "password" }, "has_password": has_password,
            "methods": methods, "code": view.code, "error": view.error, "info": view.info,
            "next": next.unwrap_or(""), "next_q": urlencode(next.unwrap_or("")), "password_rules": password_rules(page, &settings.password),
            "cancel": page.keep_locale(&next.map(str::to_string).unwrap_or_else(|| paths::tenant(tenant, paths::ACCOUNT))),
            "base": paths::tenant(tenant, ""),
        }),
    )
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PasswordQuery>,
    Holder { account, .. }: Holder,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let settings = svc.tenants.get(&tenant).await?.settings;
    let next = safe_next(&tenant, q.next.as_deref());
    let view = View::new(q.method.unwrap_or(Method::Password));
    Ok(render(&svc, &tenant, &page, &settings, &account, next.as_deref(), view))
}

/// Sends an identity code to the chosen recovery channel.
async fn send_code(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    posted: HolderForm<PasswordForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let account = holder.account;
    let next = safe_next(&tenant, form.next.as_deref());
    let via = form.via.unwrap_or(0);
    let address = code_methods(&account).get(via).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut view = View { via: Some(via), ..View::new(Method::Code) };
    let ip = peer.ip().to_string();
    match accounts.send_identity_code(&account.id, &address, &ip, page.locale.tag()).await {
        Ok(_) => view.info = Some(page.text("code_sent").to_string()),
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.error, view.status) = (Some(f.text), f.status);
        }
    }
    Ok(render(&svc, &tenant, &page, settings, &account, next.as_deref(), view))
}

async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    posted: HolderForm<PasswordForm>,
) -> ApiResult<Response> {
    let HolderForm { page, holder, form } = posted;
    let session = holder.session;
    let accounts = svc.accounts.in_tenant(&tenant).await?;
    let settings = accounts.settings();
    let account = holder.account;
    let next = safe_next(&tenant, form.next.as_deref());
    let method = form.method.unwrap_or(Method::Password);
    let mut view = View { via: form.via, code: form.code.clone(), ..View::new(method) };
    if form.password != form.password2 {
        (view.error, view.status) = (Some(page.text("passwords_differ").to_string()), StatusCode::BAD_REQUEST);
        return Ok(render(&svc, &tenant, &page, settings, &account, next.as_deref(), view));
    }
    let address = code_methods(&account).get(form.via.unwrap_or(0)).map(|(_, v)| v.clone()).unwrap_or_default();
    let proof = match method {
        Method::Password => Proof::Password(&form.current_password),
        Method::Code => Proof::Code { address: &address, code: form.code.trim() },
    };
    match accounts.change_password(&account.id, proof, &form.password, page.locale.tag()).await {
        Ok(()) => {
            // Other devices end (R23); this one stays signed in.
            svc.sessions.sign_out_others(&tenant, &account.id, Some(&session.sid)).await?;
            let link = page.keep_locale(&next.unwrap_or_else(|| paths::tenant(&tenant, paths::ACCOUNT)));
            Ok(page.render(
                &svc,
                StatusCode::OK,
                "done.html",
                json!({
                    "title": page.text("password_changed"), "text": page.text("password_changed_others_out"),
                    "link": link, "link_text": page.text("continue"),
                }),
            ))
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            (view.error, view.status) = (Some(f.text), f.status);
            Ok(render(&svc, &tenant, &page, settings, &account, next.as_deref(), view))
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/password", get(show).post(submit))
        .route("/t/{tenant}/account/password/code", post(send_code))
}
