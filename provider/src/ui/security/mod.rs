//! The account center's Security section (R20, R38): 2-step verification on or off,
//! the authenticator app, recovery codes and passkeys of the signed-in account.
//! Every change that could weaken or take over the account (turning 2-step on or
//! off, removing a factor, new recovery codes, a new passkey) first checks the
//! current password; every change is audited.

mod passkeys;
mod recovery;
mod totp;
mod two_step;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use latchkey_core::account::second_factor::{Factor, available};
use latchkey_core::account::security::Holder as Who;
use latchkey_core::account::{Account, Kind};
use latchkey_core::settings::PasswordPolicy;
use latchkey_core::{Error, Resource};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::ui::account::when;
use crate::web::error::ApiResult;
use crate::web::extract::{Holder, HolderForm};
use crate::web::feedback::{failure, fill};
use crate::web::page::Page;
use crate::web::paths;

/// The Security page of a tenant.
fn home(tenant: &str) -> String {
    paths::tenant(tenant, paths::SECURITY)
}

/// Back to the Security page with a confirmation line.
fn done(page: &Page, tenant: &str, what: &str) -> Response {
    Redirect::to(&page.keep_locale(&format!("{}?done={what}", home(tenant)))).into_response()
}

/// The holder of a posted form, as the Security operations take them.
fn who<'a>(page: &'a Page, holder: &'a Holder, ip: &'a str) -> Who<'a> {
    Who { account: &holder.account, ip, locale: page.locale.tag() }
}

fn factor_key(f: Factor) -> &'static str {
    match f {
        Factor::Passkey => "sec_factor_passkey",
        Factor::Totp => "sec_factor_totp",
        Factor::Sms => "sec_factor_sms",
        Factor::Email => "sec_factor_email",
        Factor::RecoveryCode => "sec_factor_recovery_code",
    }
}

/// A line above the page: a confirmation or a refusal.
struct Note {
    info: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
}

impl Note {
    const NONE: Note = Note { info: None, error: None, status: StatusCode::OK };
}

/// The Security page of the account.
async fn overview(svc: &Services, tenant: &str, page: &Page, account: &Account, note: Note) -> ApiResult<Response> {
    let totp = svc.totps.status(tenant, &account.id).await?;
    let codes = svc.recovery_codes.remaining(tenant, &account.id).await?;
    let enrolled = svc.security.enrolled(tenant, &account.id).await?;
    let factors = available(account, &enrolled, &[]);
    let usable = factors.iter().any(|f| *f != Factor::RecoveryCode);
    let factors: Vec<&str> = factors.into_iter().map(|f| page.text(factor_key(f))).collect();
    let passkeys: Vec<Value> = svc
        .passkeys
        .list(tenant, &account.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id, "label": p.label, "added": when(p.created_at),
                "last_used": p.last_used_at.map(when).unwrap_or_else(|| page.text("sec_never").to_string()),
            })
        })
        .collect();
    let totp_state = match totp {
        None => "none",
        Some(s) if s.confirmed => "active",
        Some(_) => "pending",
    };
    let verified_channel = account.code_channel(Kind::Mobile).is_some() || account.code_channel(Kind::Email).is_some();
    Ok(page.render(
        svc,
        note.status,
        "security.html",
        json!({
            "two_step": account.two_step,
            "factors": factors.join(page.text("list_sep")),
            "usable": usable,
            "verified_channel": verified_channel,
            "totp": totp_state,
            "totp_since": totp.map(|s| when(s.created_at)),
            "codes": codes,
            "codes_left": fill(page.text("sec_codes_left"), &[("n", &codes.to_string())]),
            "offer_codes": account.two_step && codes == 0,
            "passkeys": passkeys,
            "info": note.info.map(|k| page.text(k)),
            "error": note.error,
            "done_url": page.keep_locale(&format!("{}?done=passkey_added", home(tenant))),
            "account_url": page.keep_locale(&paths::tenant(tenant, paths::ACCOUNT)),
            "base": paths::tenant(tenant, ""),
        }),
    ))
}

/// The Security page again, saying why the change was refused. Server faults stay
/// errors (a 500 without details).
async fn refused(svc: &Services, tenant: &str, page: &Page, account: &Account, e: Error) -> ApiResult<Response> {
    let (status, key) = match &e {
        Error::CodeInvalid => (StatusCode::BAD_REQUEST, "sec_totp_code_wrong"),
        Error::NotFound(Resource::AuthenticatorEnrolment) => (StatusCode::BAD_REQUEST, "sec_totp_not_started"),
        _ => {
            let f = failure(page, &PasswordPolicy::default(), e)?;
            return overview(svc, tenant, page, account, Note { info: None, error: Some(f.text), status: f.status })
                .await;
        }
    };
    overview(svc, tenant, page, account, Note { info: None, error: Some(page.text(key).to_string()), status }).await
}

/// Every form of this section; each action reads the fields it needs.
#[derive(Deserialize)]
struct SecurityForm {
    csrf: Option<String>,
    /// The identity check.
    #[serde(default)]
    current_password: String,
    /// The authenticator app's first code.
    #[serde(default)]
    code: String,
    /// The passkey to remove.
    #[serde(default)]
    id: String,
    ui_locales: Option<String>,
}

crate::posted_form!(SecurityForm);

/// The answer to a posted form: `then` on success, else the Security page saying why
/// the change was refused.
async fn answer(
    svc: &Services,
    form: &HolderForm<SecurityForm>,
    outcome: Result<Response, Error>,
) -> ApiResult<Response> {
    match outcome {
        Ok(r) => Ok(r),
        Err(e) => refused(svc, &form.holder.tenant, &form.page, &form.holder.account, e).await,
    }
}

#[derive(Deserialize)]
struct SecurityQuery {
    /// What was just done, for the confirmation line.
    done: Option<String>,
    /// The language the linking app asks for.
    ui_locales: Option<String>,
}

async fn show(
    State(svc): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<SecurityQuery>,
    holder: Holder,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let Holder { tenant, account, .. } = holder;
    let info = match q.done.as_deref() {
        Some("totp_on") => Some("sec_done_totp_on"),
        Some("totp_removed") => Some("sec_done_totp_removed"),
        Some("two_step_on") => Some("sec_done_two_step_on"),
        Some("two_step_off") => Some("sec_done_two_step_off"),
        Some("passkey_added") => Some("sec_done_passkey_added"),
        Some("passkey_removed") => Some("sec_done_passkey_removed"),
        _ => None,
    };
    overview(&svc, &tenant, &page, &account, Note { info, ..Note::NONE }).await
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security", get(show))
        .merge(totp::router())
        .merge(recovery::router())
        .merge(two_step::router())
        .merge(passkeys::router())
}
