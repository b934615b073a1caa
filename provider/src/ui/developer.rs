//! The developer profile page of the account center (R11, R12):
//! `/t/{tenant}/account/developer` shows the review state and a rejection's reason,
//! and, until approved, one form per developer type to submit or resubmit its fields.
//! Once approved the identity fields are shown read-only.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use latchkey_core::Error;
use latchkey_core::developer::{IDENTITY_LOCKED, ReviewState, Submission};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AppState, Services};
use crate::web::error::ApiResult;
use crate::web::extract::{Holder, HolderForm};
use crate::web::feedback;
use crate::web::page::Page;
use crate::web::paths;

/// Prefix of the form inputs that carry identity fields (`field.company_name`).
const FIELD_PREFIX: &str = "field.";

/// A localized label for `key`, or `fallback` when the tenant names something the
/// texts do not know (its own types and fields).
fn label(page: &Page, key: &str, fallback: &str) -> String {
    match page.text(key) {
        "" => fallback.to_string(),
        t => t.to_string(),
    }
}

#[derive(Deserialize)]
struct DevQuery {
    done: Option<String>,
    ui_locales: Option<String>,
}

/// How a page view ends: a refused submission to show again, or a confirmation.
struct Outcome<'a> {
    status: StatusCode,
    /// The type and fields of a refused submission, kept in its form.
    posted: Option<(&'a str, &'a BTreeMap<String, String>)>,
    error: Option<String>,
    info: Option<&'static str>,
}

/// Renders the page for the account's submission `s`.
async fn render(svc: &Services, page: &Page, tenant: &str, s: &Submission, out: Outcome<'_>) -> ApiResult<Response> {
    let Outcome { status, posted, error, info } = out;
    let types = svc.developers.types(tenant).await?;
    let types: Vec<Value> = types
        .iter()
        .map(|ty| {
            let source = match posted {
                Some((name, fields)) if name == ty.name => Some(fields),
                _ if s.developer_type.as_deref() == Some(ty.name.as_str()) => Some(&s.fields),
                _ => None,
            };
            let fields: Vec<Value> = ty
                .fields
                .iter()
                .map(|f| {
                    let value = source.and_then(|m| m.get(f)).cloned().unwrap_or_default();
                    json!({ "name": f, "label": label(page, &format!("dev_field_{f}"), f), "value": value })
                })
                .collect();
            json!({ "name": ty.name, "label": label(page, &format!("dev_type_{}", ty.name), &ty.name), "fields": fields })
        })
        .collect();
    let current: Vec<Value> = s
        .fields
        .iter()
        .map(|(k, v)| json!({ "label": label(page, &format!("dev_field_{k}"), k), "value": v }))
        .collect();
    let reason = match &s.state {
        ReviewState::Rejected { reason } => Some(reason.clone()),
        _ => None,
    };
    Ok(page.render(
        svc,
        status,
        "developer.html",
        json!({
            "status": s.state.as_str(),
            "status_text": page.text(&format!("dev_status_{}", s.state.as_str())),
            "type_text": s.developer_type.as_deref().map(|n| label(page, &format!("dev_type_{n}"), n)),
            "reason": reason, "current": current, "types": types,
            "editable": s.state != ReviewState::Approved,
            "error": error, "info": info, "base": paths::tenant(tenant, ""),
        }),
    ))
}

async fn show(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(q): Query<DevQuery>,
    Holder { session, .. }: Holder,
) -> ApiResult<Response> {
    let page = Page::new(&headers, q.ui_locales.as_deref());
    let s = svc.developers.get(&tenant, &session.account_id).await?;
    let info = (q.done.as_deref() == Some("submitted")).then(|| page.text("dev_submitted"));
    render(&svc, &page, &tenant, &s, Outcome { status: StatusCode::OK, posted: None, error: None, info }).await
}

/// Submits or resubmits: `developer_type` and the `field.*` inputs of that type.
async fn submit(
    State(svc): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    HolderForm { page, holder, form }: HolderForm<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let session = holder.session;
    let type_name = form.get("developer_type").cloned().unwrap_or_default();
    let fields: BTreeMap<String, String> =
        form.iter().filter_map(|(k, v)| k.strip_prefix(FIELD_PREFIX).map(|k| (k.to_string(), v.clone()))).collect();
    let facts = crate::web::http::facts(&headers, None, None);
    match svc.developers.submit_durably(&svc.policy, &facts, &tenant, &session.account_id, &type_name, &fields).await {
        Ok(_) => {
            let to = page.keep_locale(&format!("{}?done=submitted", paths::tenant(&tenant, paths::DEVELOPER)));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let (status, text) = match e {
                Error::Invalid { .. } => (StatusCode::BAD_REQUEST, page.text("dev_fields_invalid").to_string()),
                Error::PolicyDenied { reason } if reason == IDENTITY_LOCKED => {
                    (StatusCode::FORBIDDEN, page.text("dev_locked").to_string())
                }
                e => {
                    let f = feedback::failure(&page, &latchkey_core::settings::PasswordPolicy::default(), e)?;
                    (f.status, f.text)
                }
            };
            let s = svc.developers.get(&tenant, &session.account_id).await?;
            let out = Outcome { status, posted: Some((&type_name, &fields)), error: Some(text), info: None };
            render(&svc, &page, &tenant, &s, out).await
        }
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/t/{tenant}/account/developer", get(show).post(submit))
}
