//! The page a security-email link opens (R5): a button that adds the email. Opening
//! the link changes nothing (mail scanners open links too); the button does. The
//! token alone proves the mailbox, so no session is needed: the link may be opened
//! on another device than the one that asked for it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use latchkey_core::{Error, Field};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::CsrfForm;
use crate::web::feedback::failure;
use crate::web::page::{Page, private_url};
use crate::web::paths;

#[derive(Deserialize)]
struct ConfirmQuery {
    token: Option<String>,
    ui_locales: Option<String>,
}

crate::posted_form!(ConfirmForm);

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    token: String,
    ui_locales: Option<String>,
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ConfirmQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    svc.tenants.get(&tenant).await?;
    let token = q.token.unwrap_or_default();
    if !svc.accounts.email_link_valid(&tenant, &token).await {
        return Ok(page.link_dead(&svc));
    }
    let action = paths::tenant(&tenant, paths::EMAIL_LINK_PAGE);
    Ok(private_url(page.render(
        &svc,
        StatusCode::OK,
        "email_confirm.html",
        json!({ "token": token, "action": action }),
    )))
}

async fn confirm(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    CsrfForm { page, form }: CsrfForm<ConfirmForm>,
) -> ApiResult<Response> {
    let settings = svc.tenants.get(&tenant).await?.settings;
    match svc.accounts.confirm_email_link(&tenant, &form.token, page.locale.tag()).await {
        Ok(_) => Ok(page.render(
            &svc,
            StatusCode::OK,
            "done.html",
            json!({
                "title": page.text("email_added"), "text": page.text("email_added_text"),
                "link": page.keep_locale(&paths::tenant(&tenant, paths::ACCOUNT)), "link_text": page.text("account_center"),
            }),
        )),
        Err(Error::CodeInvalid | Error::CodeExpired) => Ok(page.link_dead(&svc)),
        // Added meanwhile with codes: the link is used up and changes nothing.
        Err(Error::Invalid { field: Field::Email, .. }) => {
            Ok(page.message(&svc, StatusCode::CONFLICT, "error", page.text("email_link_has_email"), None))
        }
        Err(e) => {
            let f = failure(&page, &settings.password, e)?;
            Ok(page.message(&svc, f.status, "error", &f.text, None))
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(&paths::route(paths::EMAIL_LINK_PAGE), get(show).post(confirm))
}
