//! The account center's Security section (R20, R38): 2-step verification on or off,
//! the authenticator app, recovery codes and passkeys of the signed-in account.
//! Every change that could weaken or take over the account (turning 2-step on or
//! off, removing a factor, new recovery codes, a new passkey) first checks the
//! current password; every change is audited.

mod passkeys;
mod recovery;
mod totp;
mod two_step;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use latchkey_core::Error;
use latchkey_core::account::password::Proof;
use latchkey_core::account::second_factor::{Enrolled, Factor, available};
use latchkey_core::account::{Account, Kind};
use latchkey_core::audit::{self, AuditEvent};
use latchkey_core::settings::PasswordPolicy;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::ui::account::{holder, posted_by_holder, when};
use crate::web::error::ApiResult;
use crate::web::feedback::{failure, fill};
use crate::web::page::Page;

/// The Security page of a tenant.
fn home(tenant: &str) -> String {
    format!("/t/{tenant}/account/security")
}

/// Back to the Security page with a confirmation line.
fn done(page: &Page, tenant: &str, what: &str) -> Response {
    Redirect::to(&page.keep_locale(&format!("{}?done={what}", home(tenant)))).into_response()
}

/// How the account is named to an authenticator app or a passkey: its name, else
/// its email or mobile, else its id.
fn holder_label(account: &Account) -> String {
    account
        .name
        .clone()
        .or_else(|| account.email().map(|b| b.value.clone()))
        .or_else(|| account.mobile().map(|b| b.value.clone()))
        .unwrap_or_else(|| account.id.clone())
}

/// Checks the current password (the identity check of this section).
async fn prove(svc: &Services, tenant: &str, account: &Account, password: &str) -> Result<(), Error> {
    let settings = svc.tenants.get(tenant)?.settings;
    svc.accounts.prove(tenant, &settings, account, Proof::Password(password)).await
}

/// Refuses a removal that would leave 2-step verification on with nothing but
/// recovery codes to give: `after` is what remains enrolled.
fn keeps_a_factor(account: &Account, after: &Enrolled) -> Result<(), Error> {
    if account.two_step && available(account, after, &[]).iter().all(|f| *f == Factor::RecoveryCode) {
        return Err(Error::Refused("last_second_factor"));
    }
    Ok(())
}

/// Appends a security event by the account holder. A failure to record is logged,
/// not shown: the change itself is done.
fn record(
    svc: &Services,
    tenant: &str,
    account_id: &str,
    action: &str,
    subject: Option<&str>,
    ip: &str,
    detail: Value,
) {
    let event = AuditEvent {
        at: svc.now(),
        actor: account_id.to_string(),
        action: action.to_string(),
        subject: subject.map(str::to_string),
        ip: (!ip.is_empty()).then(|| ip.to_string()),
        client: None,
        detail,
    };
    if let Err(e) = audit::record(&svc.store, tenant, &event) {
        tracing::warn!(tenant, account = account_id, action, error = %e, "audit event not recorded");
    }
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
fn overview(svc: &Services, tenant: &str, page: &Page, account: &Account, note: Note) -> ApiResult<Response> {
    let totp = svc.totps.status(tenant, &account.id)?;
    let codes = svc.recovery_codes.remaining(tenant, &account.id)?;
    let enrolled = svc.enrolled(tenant, &account.id)?;
    let factors = available(account, &enrolled, &[]);
    let usable = factors.iter().any(|f| *f != Factor::RecoveryCode);
    let factors: Vec<&str> = factors.into_iter().map(|f| page.text(factor_key(f))).collect();
    let passkeys: Vec<Value> = svc
        .passkeys
        .list(tenant, &account.id)?
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
            "account_url": page.keep_locale(&format!("/t/{tenant}/account")),
            "base": format!("/t/{tenant}"),
        }),
    ))
}

/// The Security page again, saying why the change was refused. Server faults stay
/// errors (a 500 without details).
fn refused(svc: &Services, tenant: &str, page: &Page, account: &Account, e: Error) -> ApiResult<Response> {
    let (status, key) = match &e {
        Error::Refused("no_second_factor") => (StatusCode::FORBIDDEN, "sec_no_second_factor"),
        Error::Refused("last_second_factor") => (StatusCode::FORBIDDEN, "sec_last_factor"),
        Error::Refused("totp_already_enabled") => (StatusCode::CONFLICT, "sec_totp_already"),
        Error::CodeInvalid => (StatusCode::BAD_REQUEST, "sec_totp_code_wrong"),
        Error::NotFound("authenticator enrolment") => (StatusCode::BAD_REQUEST, "sec_totp_not_started"),
        _ => {
            let f = failure(page, &PasswordPolicy::default(), e)?;
            return overview(svc, tenant, page, account, Note { info: None, error: Some(f.text), status: f.status });
        }
    };
    overview(svc, tenant, page, account, Note { info: None, error: Some(page.text(key).to_string()), status })
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

/// The start of every form of this section: page, CSRF, session (else to sign-in),
/// then the account. `Err` is the answer to send.
fn posted(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    form: &SecurityForm,
) -> ApiResult<Result<(Page, Account), Response>> {
    Ok(match posted_by_holder(svc, tenant, headers, form.ui_locales.as_deref(), form.csrf.as_deref())? {
        Ok((page, session)) => Ok((page, svc.accounts.get(tenant, &session.account_id)?)),
        Err(refused) => Err(refused),
    })
}

/// `posted`, then the identity check of a sensitive change (the current password); a
/// wrong password is answered with the section's page.
async fn posted_and_proved(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    form: &SecurityForm,
) -> ApiResult<Result<(Page, Account), Response>> {
    let (page, account) = match posted(svc, tenant, headers, form)? {
        Ok(v) => v,
        Err(answer) => return Ok(Err(answer)),
    };
    if let Err(e) = prove(svc, tenant, &account, &form.current_password).await {
        return Ok(Err(refused(svc, tenant, &page, &account, e)?));
    }
    Ok(Ok((page, account)))
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
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<SecurityQuery>,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let session = match holder(&svc, &tenant, &headers)? {
        Ok(s) => s,
        Err(to_login) => return Ok(to_login),
    };
    let account = svc.accounts.get(&tenant, &session.account_id)?;
    let info = match q.done.as_deref() {
        Some("totp_on") => Some("sec_done_totp_on"),
        Some("totp_removed") => Some("sec_done_totp_removed"),
        Some("two_step_on") => Some("sec_done_two_step_on"),
        Some("two_step_off") => Some("sec_done_two_step_off"),
        Some("passkey_added") => Some("sec_done_passkey_added"),
        Some("passkey_removed") => Some("sec_done_passkey_removed"),
        _ => None,
    };
    overview(&svc, &tenant, &page, &account, Note { info, ..Note::NONE })
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/t/{tenant}/account/security", get(show))
        .merge(totp::router())
        .merge(recovery::router())
        .merge(two_step::router())
        .merge(passkeys::router())
}
