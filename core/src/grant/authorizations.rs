//! Executing an authorization request: validate it, decide what it needs next
//! ([`request::next`]), and carry out that step: save the flow for sign-in or
//! consent, or issue the code with its token family, the session note and the end
//! of the flow in one transaction. Every operation is durable before it returns.

use std::sync::Arc;

use crate::client::{Client, Clients};
use crate::clock::Clock;
use crate::error::Result;
use crate::grant::account_families::AccountFamily;
use crate::grant::authorized::Authorized;
use crate::grant::code::{self, CodeRecord};
use crate::grant::consent::{self, Consent};
use crate::grant::family::{self, Family, Grant};
use crate::grant::oauth_error::OAuthCode;
use crate::grant::request::{self, AuthRequest, AuthorizeError, AuthorizeParams, Flow, Next};
use crate::keys::Keys;
use crate::seal::Sealer;
use crate::secret;
use crate::session::{self, Session, Sessions};
use crate::store::{GLOBAL, Record as _, Store, Tx, TxResult};
use crate::tenant::Tenant;

/// The trees one code issue writes together.
const ISSUE_TREES: &[&str] = &[Family::TREE, AccountFamily::TREE, CodeRecord::TREE, Session::TREE, Flow::TREE];
/// The trees one consent answer writes together.
const CONSENT_TREES: &[&str] = &[Consent::TREE, Flow::TREE];
/// Longest session cookie value looked up; anything longer is no session.
const MAX_COOKIE: usize = 64;

/// Carries authorization requests from the authorize endpoint, the end of a sign-in
/// and the consent page to the code; every operation is durable before it returns.
pub struct Authorizations {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<Keys>,
    clients: Clients,
    /// Only looks sessions up and notes their use; never starts one, so its
    /// lifetime setting is unused.
    sessions: Sessions,
    public_url: String,
}

/// Everything one code issue writes, decided before the transaction runs.
struct Issue<'a> {
    family: String,
    code: String,
    horizon: u64,
    grant: Grant,
    request: &'a AuthRequest,
    cookie: &'a str,
    flow_id: Option<&'a str>,
    now: u64,
}

impl Authorizations {
    /// The service over the store, telling time by `clock`, verifying `id_token_hint`s
    /// with the tenants' `keys`; `sealer` keys the client secrets; `public_url` makes
    /// the tenants' issuer URLs.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: Arc<Keys>, sealer: Arc<Sealer>, public_url: &str) -> Self {
        let sessions = Sessions::new(store.clone(), clock.clone(), 0);
        let clients = Clients::new(store.clone(), sealer);
        Authorizations { store, clock, keys, clients, sessions, public_url: public_url.to_string() }
    }

    /// The live saved flow `id` of the tenant, if any.
    pub async fn flow(&self, tenant: &str, id: &str) -> Result<Option<Flow>> {
        request::load_flow(&self.store, tenant, id, self.clock.now()).await
    }

    /// A new authorization request of the tenant, from the browser holding the
    /// session `cookie` (if any): validated, then taken as far as it goes without
    /// the person.
    pub async fn authorize(&self, tenant: &str, params: AuthorizeParams, cookie: Option<&str>) -> Result<Authorized> {
        if !matches!(self.store.get::<Tenant>(GLOBAL, tenant).await, Ok(Some(_))) {
            return Ok(Authorized::UnknownTenant);
        }
        let ring = self.keys.ring(tenant).await?;
        let issuer = format!("{}/t/{tenant}", self.public_url);
        let (req, client) = match request::validate(&self.clients, tenant, &ring, &issuer, params).await {
            Ok(v) => v,
            Err(AuthorizeError::Page { error, description }) => {
                return Ok(Authorized::ErrorPage { error, description });
            }
            Err(AuthorizeError::Redirect { to, error, description }) => {
                return Ok(Authorized::ErrorToClient { to, error, description });
            }
        };
        let fresh = Flow::new(req, self.clock.now());
        self.advance(tenant, None, fresh, &client, cookie).await
    }

    /// Takes the saved flow `flow_id` on (after a sign-in or a step-up), for the
    /// browser holding the session `cookie`.
    pub async fn resume(&self, tenant: &str, flow_id: &str, cookie: Option<&str>) -> Result<Authorized> {
        let Some(saved) = self.flow(tenant, flow_id).await? else { return Ok(Authorized::Expired) };
        let client = self.clients.get(tenant, &saved.request.client_id).await?;
        self.advance(tenant, Some(flow_id.to_string()), saved, &client, cookie).await
    }

    /// The person's answer on the consent page for flow `flow_id`: `allow` remembers
    /// the consent of the session's person to the flow's client and scopes, clears the
    /// flow's `prompt=consent` and takes the flow on; a denial ends the flow and
    /// answers the client `access_denied`.
    pub async fn consent(&self, tenant: &str, flow_id: &str, cookie: Option<&str>, allow: bool) -> Result<Authorized> {
        let saved = self.flow(tenant, flow_id).await?;
        let (Some(saved), Some((cookie, session))) = (saved, self.session(tenant, cookie).await?) else {
            return Ok(Authorized::Expired);
        };
        if !allow {
            request::end_flow(&self.store, tenant, flow_id).await?;
            self.store.commit().await?;
            return Ok(Authorized::ErrorToClient {
                to: saved.request.redirect(),
                error: OAuthCode::AccessDenied,
                description: "the user denied the request".into(),
            });
        }
        let now = self.clock.now();
        let flow = self
            .store
            .transaction(CONSENT_TREES, async |tx| consent_in(tx, tenant, flow_id, &session.account_id, now).await)
            .await?;
        let Some(flow) = flow else {
            self.store.commit().await?;
            return Ok(Authorized::Expired);
        };
        let client = self.clients.get(tenant, &flow.request.client_id).await?;
        self.advance(tenant, Some(flow_id.to_string()), flow, &client, Some(cookie)).await
    }

    /// The live session behind `cookie`: (cookie, session).
    async fn session<'c>(&self, tenant: &str, cookie: Option<&'c str>) -> Result<Option<(&'c str, Session)>> {
        let Some(c) = cookie.filter(|c| c.len() <= MAX_COOKIE) else { return Ok(None) };
        Ok(self.sessions.get(tenant, c).await?.map(|s| (c, s)))
    }

    /// Takes the flow as far as it can go without the person; the flow is saved
    /// (when new) for a step the person must take. Durable before it returns.
    async fn advance(
        &self,
        tenant: &str,
        flow_id: Option<String>,
        flow: Flow,
        client: &Client,
        cookie: Option<&str>,
    ) -> Result<Authorized> {
        let now = self.clock.now();
        let session = self.session(tenant, cookie).await?;
        let consented = match &session {
            Some((_, s)) => {
                consent::covers(&self.store, tenant, &s.account_id, &client.id, &flow.request.scopes).await?
            }
            None => false,
        };
        let next = request::next(&flow, session.as_ref().map(|(_, s)| s), client, consented, now);
        let saved_id = async |flow_id: Option<String>| -> Result<String> {
            match flow_id {
                Some(id) => Ok(id),
                None => request::save_flow(&self.store, tenant, flow.request.clone(), now).await,
            }
        };
        let outcome = match (next, session) {
            (Next::SignIn, _) => Authorized::SignIn { flow_id: saved_id(flow_id).await? },
            (Next::StepUp, Some((_, session))) => Authorized::StepUp { flow_id: saved_id(flow_id).await?, session },
            (Next::Consent, _) => Authorized::Consent {
                flow_id: saved_id(flow_id).await?,
                client_name: client.name.clone(),
                scopes: flow.request.scopes.clone(),
                ui_locales: flow.request.ui_locales.clone(),
            },
            (Next::Issue, Some((cookie, session))) => {
                let code = self.issue_code(tenant, flow_id.as_deref(), &flow.request, client, cookie, &session).await?;
                Authorized::Redirect { to: flow.request.redirect(), params: vec![("code", code)] }
            }
            (Next::StepUp | Next::Issue, None) => Authorized::Expired,
            (Next::Fail(error), _) => {
                if let Some(id) = &flow_id {
                    request::end_flow(&self.store, tenant, id).await?;
                }
                Authorized::ErrorToClient {
                    to: flow.request.redirect(),
                    error,
                    description: "the request cannot be completed without the user".into(),
                }
            }
        };
        self.store.commit().await?;
        Ok(outcome)
    }

    /// Issues the authorization code for `request` to the signed-in `session` (behind
    /// `cookie`): opens its token family, stores the code, notes the client in the
    /// session and ends the saved flow `flow_id`, in one transaction. The caller commits.
    async fn issue_code(
        &self,
        tenant: &str,
        flow_id: Option<&str>,
        request: &AuthRequest,
        client: &Client,
        cookie: &str,
        session: &Session,
    ) -> Result<String> {
        let now = self.clock.now();
        let issue = Issue {
            family: secret::token_of(16),
            code: secret::token(),
            horizon: now + client.lifetimes.refresh_token.max(client.lifetimes.access_token),
            grant: Grant {
                family: String::new(),
                client_id: client.id.clone(),
                account_id: session.account_id.clone(),
                scopes: request.scopes.clone(),
                auth_time: session.auth_time,
                amr: session.amr.clone(),
                acr: session.acr.clone(),
                sid: session.sid.clone(),
                nonce: request.nonce.clone(),
            },
            request,
            cookie,
            flow_id,
            now,
        };
        self.store.transaction(ISSUE_TREES, async |tx| issue_in(tx, tenant, &issue).await).await?;
        Ok(issue.code)
    }
}

/// The writes of one code issue, inside a transaction over [`ISSUE_TREES`].
async fn issue_in(tx: &Tx<'_>, tenant: &str, issue: &Issue<'_>) -> TxResult<()> {
    let grant = &issue.grant;
    family::open_in(tx, tenant, &issue.family, &grant.client_id, &grant.account_id, issue.horizon).await?;
    let grant = Grant { family: issue.family.clone(), ..grant.clone() };
    let req = issue.request;
    code::issue_in(tx, tenant, &issue.code, grant, &req.redirect_uri, req.code_challenge.clone(), issue.now).await?;
    session::touch_in(tx, tenant, issue.cookie, &issue.grant.client_id, issue.now).await?;
    if let Some(id) = issue.flow_id {
        tx.remove::<Flow>(tenant, id).await?;
    }
    Ok(())
}

/// An allowed consent, inside a transaction over [`CONSENT_TREES`]: remembers it and
/// clears the flow's `prompt=consent`. The flow as it now is, or `None` when it is gone.
async fn consent_in(tx: &Tx<'_>, tenant: &str, flow_id: &str, account_id: &str, now: u64) -> TxResult<Option<Flow>> {
    let Some(mut flow) = tx.get::<Flow>(tenant, flow_id).await?.filter(|f| f.expires_at > now) else { return Ok(None) };
    let req = &flow.request;
    consent::grant_in(tx, tenant, account_id, &req.client_id, &req.scopes, now).await?;
    if flow.request.prompt.consent {
        flow.request.prompt.consent = false;
        tx.put(tenant, flow_id, &flow).await?;
    }
    Ok(Some(flow))
}

#[cfg(test)]
mod tests;
