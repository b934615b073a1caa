//! Sign-in with third-party accounts (R17, R28): the trip to the upstream and back,
//! the first-sign-in choices (a new account, or a link after proof), the required
//! mobile or email, and the linked accounts in the account center.

mod callback;
mod first;
mod linked;
mod start;

use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_core::account::Account;
use latchkey_core::federation::pending::{self, FederatedSignIn};
use latchkey_core::signin::level::Method;

use crate::state::{AppState, Services};
use crate::ui::signed_in;
use crate::web::cookies;
use crate::web::error::ApiResult;
use crate::web::http::origin;
use crate::web::page::Page;

/// The callback URL an upstream sends the person back to.
pub fn callback_url(svc: &Services, tenant: &str, upstream: &str) -> String {
    format!("{}/t/{tenant}/federation/{upstream}/callback", svc.public_url)
}

/// The sign-in reached `account`: unless the tenant still requires a contact the
/// account lacks (then that page), continue like any sign-in (hook, second factor,
/// session) with the methods proven.
#[allow(clippy::too_many_arguments)]
async fn proceed(
    svc: &Services,
    tenant: &str,
    headers: &HeaderMap,
    peer: std::net::SocketAddr,
    token: &str,
    mut p: FederatedSignIn,
    account: Account,
    page: &Page,
) -> ApiResult<Response> {
    let settings = svc.tenants.get(tenant)?.settings;
    p.account_id = Some(account.id.clone());
    let path = cookies::session_path(tenant);
    if pending::missing_contact(settings.federation.require_contact, &account).is_some() {
        pending::put(&svc.store, tenant, token, &p)?;
        svc.store.commit().await?;
        let mut resp = crate::web::respond::found(&format!("/t/{tenant}/federation/contact"));
        resp.headers_mut().append(
            axum::http::header::SET_COOKIE,
            crate::web::http::set_cookie(cookies::FEDERATED_PENDING, token, &path, None, svc.secure_cookies),
        );
        return Ok(resp);
    }
    pending::end(&svc.store, tenant, token)?;
    let methods: Vec<Method> = p
        .amr
        .iter()
        .filter_map(|a| match a.as_str() {
            "pwd" => Some(Method::Password),
            "fed" => Some(Method::Federated),
            _ => None,
        })
        .collect();
    let signed = svc.accounts.signed_in(tenant, &settings, account, &methods)?;
    let mut resp =
        signed_in::complete(svc, tenant, headers, &origin(headers, Some(peer)), p.flow.as_deref(), signed, page)
            .await?;
    resp.headers_mut().append(
        axum::http::header::SET_COOKIE,
        crate::web::http::set_cookie(cookies::FEDERATED_PENDING, "", &path, Some(0), svc.secure_cookies),
    );
    Ok(resp)
}

pub fn router() -> axum::Router<AppState> {
    start::router().merge(callback::router()).merge(first::router()).merge(linked::router())
}
