//! The authorization request: raw parameters in, a validated `AuthRequest` out, kept
//! as a pending flow while the person signs in and consents; then `next` says what
//! the flow needs.

use serde::{Deserialize, Serialize};

use crate::client::{Client, Clients, GrantType};
use crate::error::Result;
use crate::grant::oauth_error::OAuthCode;
use crate::grant::{id_token_hint, split_scope};
use crate::keys::KeyRing;
use crate::secret;
use crate::session::Session;
use crate::signin::level;
use crate::store::{Record, Store, Tx, TxResult};

/// How long a pending authorization waits for the person.
pub const FLOW_LIFETIME: u64 = 30 * 60;

/// The authorization request as it arrived (query or form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    /// An ID token this tenant issued earlier, naming the person expected (§3.1.2.1).
    pub id_token_hint: Option<String>,
}

/// Where the authorization response goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub response_mode: ResponseMode,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    /// The account a verified `id_token_hint` names: with `prompt=none`, a session of
    /// anyone else is `login_required`.
    #[serde(default)]
    pub hint_sub: Option<String>,
}

/// A failed authorization request: either shown on a page (the client or redirect
/// URI cannot be trusted) or sent back to the client.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    Page { error: OAuthCode, description: String },
    Redirect { to: Redirect, error: OAuthCode, description: String },
}

/// Where and how to answer the client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Redirect {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

impl AuthRequest {
    pub fn redirect(&self) -> Redirect {
        Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
        }
    }
}

fn limited(field: Option<String>, max: usize) -> std::result::Result<Option<String>, String> {
    match field {
        Some(v) if v.len() > max => Err(format!("parameter longer than {max} bytes")),
        other => Ok(other.filter(|v| !v.is_empty())),
    }
}

/// Validates an authorization request for a tenant; `ring` and `issuer` are the
/// tenant's, to verify an `id_token_hint`.
pub async fn validate(
    clients: &Clients,
    tenant: &str,
    ring: &KeyRing,
    issuer: &str,
    p: AuthorizeParams,
) -> std::result::Result<(AuthRequest, Client), AuthorizeError> {
    let page = |error, description: &str| AuthorizeError::Page { error, description: description.to_string() };
    let client_id = p
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| page(OAuthCode::InvalidRequest, "client_id is missing"))?;
    let client = clients.get(tenant, &client_id).await.map_err(|_| page(OAuthCode::InvalidClient, "unknown client"))?;
    let redirect_uri =
        p.redirect_uri.clone().ok_or_else(|| page(OAuthCode::InvalidRequest, "redirect_uri is missing"))?;
    if !client.has_redirect_uri(&redirect_uri) {
        return Err(page(OAuthCode::InvalidRequest, "redirect_uri is not registered for this client"));
    }
    let mode = match p.response_mode.as_deref() {
        None | Some("") | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err("response_mode must be query or form_post"),
    };
    let to = Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode: *mode.as_ref().unwrap_or(&ResponseMode::Query),
        state: p.state.clone().filter(|s| s.len() <= 2048),
    };
    let fail = |error, description: &str| AuthorizeError::Redirect {
        to: to.clone(),
        error,
        description: description.to_string(),
    };
    let response_mode = mode.map_err(|d| fail(OAuthCode::InvalidRequest, d))?;
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(fail(OAuthCode::InvalidRequest, "response_type is missing")),
        Some(_) => return Err(fail(OAuthCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(OAuthCode::UnauthorizedClient, "this client may not use the authorization code flow"));
    }
    let state = limited(p.state, 2048).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?;
    let nonce = limited(p.nonce, 512).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?;
    let login_hint = limited(p.login_hint, 256).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?;
    let ui_locales = limited(p.ui_locales, 128).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?;
    let acr_values = limited(p.acr_values, 256).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?;
    let scope = limited(p.scope, 1024).map_err(|d| fail(OAuthCode::InvalidRequest, &d))?.unwrap_or_default();
    let scopes = split_scope(&scope);
    if scopes.iter().any(|s| !s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')) {
        return Err(fail(OAuthCode::InvalidScope, "malformed scope"));
    }
    let code_challenge = match (p.code_challenge.filter(|c| !c.is_empty()), p.code_challenge_method.as_deref()) {
        (None, None) if client.is_public() => {
            return Err(fail(OAuthCode::InvalidRequest, "PKCE (code_challenge, S256) is required for public clients"));
        }
        (None, None) => None,
        (None, Some(_)) => return Err(fail(OAuthCode::InvalidRequest, "code_challenge_method without code_challenge")),
        (Some(c), Some("S256")) => {
            let well_formed = c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !well_formed {
                return Err(fail(OAuthCode::InvalidRequest, "code_challenge must be a base64url SHA-256 digest"));
            }
            Some(c)
        }
        (Some(_), _) => {
            return Err(fail(OAuthCode::InvalidRequest, "code_challenge_method must be S256 (plain is refused)"));
        }
    };
    let mut prompt = Prompt::default();
    for v in p.prompt.as_deref().unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match v {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            _ => return Err(fail(OAuthCode::InvalidRequest, "unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
        return Err(fail(OAuthCode::InvalidRequest, "prompt=none cannot be combined with other values"));
    }
    let hint_sub = match limited(p.id_token_hint, 8192).map_err(|d| fail(OAuthCode::InvalidRequest, &d))? {
        None => None,
        Some(h) => Some(
            id_token_hint::verify(ring, issuer, &h)
                .map_err(|_| fail(OAuthCode::InvalidRequest, "id_token_hint is not an ID token of this issuer"))?
                .sub,
        ),
    };
    let max_age = match p.max_age.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(
            m.parse::<u64>().map_err(|_| fail(OAuthCode::InvalidRequest, "max_age must be a non-negative integer"))?,
        ),
    };
    let req = AuthRequest {
        client_id,
        redirect_uri,
        scopes,
        state,
        nonce,
        code_challenge,
        response_mode,
        prompt,
        max_age,
        login_hint,
        ui_locales,
        acr_values,
        hint_sub,
    };
    Ok((req, client))
}

/// An authorization request waiting for the person (sign-in, consent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub request: AuthRequest,
    pub created_at: u64,
    pub expires_at: u64,
    /// The session (sid) that signed in during this flow, which satisfies
    /// prompt=login and prompt=select_account.
    #[serde(default)]
    pub signed_in: Option<String>,
    /// Step-up to two factors was not possible (no second factor set up): the app's
    /// `acr_values` wish is answered with what the session has.
    #[serde(default)]
    pub step_up_skipped: bool,
}

impl Record for Flow {
    const TREE: &'static str = "flows";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Stores a pending flow; returns its id.
pub async fn save_flow(store: &Store, tenant: &str, request: AuthRequest, now: u64) -> Result<String> {
    let id = secret::token_of(18);
    store.put(tenant, &id, &Flow::new(request, now)).await?;
    Ok(id)
}

impl Flow {
    pub fn new(request: AuthRequest, now: u64) -> Flow {
        Flow { request, created_at: now, expires_at: now + FLOW_LIFETIME, signed_in: None, step_up_skipped: false }
    }
}

/// Records that session `sid` signed in during the flow.
pub async fn mark_signed_in(store: &Store, tenant: &str, id: &str, sid: &str) -> Result<()> {
    store
        .update::<Flow, _>(tenant, id, |old| {
            Ok((
                old.map(|mut f| {
                    f.signed_in = Some(sid.to_string());
                    f
                }),
                (),
            ))
        })
        .await
}

/// [`mark_signed_in`] inside a transaction over [`Flow`]: a flow that is gone is left so.
pub async fn mark_signed_in_in(tx: &Tx<'_>, tenant: &str, id: &str, sid: &str) -> TxResult<()> {
    match tx.get::<Flow>(tenant, id).await? {
        Some(mut f) => {
            f.signed_in = Some(sid.to_string());
            tx.put(tenant, id, &f).await
        }
        None => Ok(()),
    }
}

pub async fn load_flow(store: &Store, tenant: &str, id: &str, now: u64) -> Result<Option<Flow>> {
    if id.len() > 64 {
        return Ok(None);
    }
    store.get_live(tenant, id, now).await
}

/// Records that the flow cannot step up to two factors.
pub async fn skip_step_up(store: &Store, tenant: &str, id: &str) -> Result<()> {
    store
        .update::<Flow, _>(tenant, id, |old| {
            Ok((
                old.map(|mut f| {
                    f.step_up_skipped = true;
                    f
                }),
                (),
            ))
        })
        .await
}

pub async fn end_flow(store: &Store, tenant: &str, id: &str) -> Result<()> {
    store.remove::<Flow>(tenant, id).await.map(|_| ())
}

/// What an authorization needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Show the sign-in page.
    SignIn,
    /// Ask the signed-in person for a second factor: the app asked for `acr` 2 (P4).
    StepUp,
    /// Show the consent page.
    Consent,
    /// Issue the code.
    Issue,
    /// Answer the client with this error (prompt=none could not be honoured).
    Fail(OAuthCode),
}

/// Decides the next step of a flow from the session (if any) and whether consent is
/// on record.
pub fn next(flow: &Flow, session: Option<&Session>, client: &Client, consented: bool, now: u64) -> Next {
    let req = &flow.request;
    let fresh_enough = |s: &Session| {
        let max_age_ok = req.max_age.is_none_or(|m| now.saturating_sub(s.auth_time) <= m);
        let signed_in_here = flow.signed_in.as_deref() == Some(s.sid.as_str());
        let login_ok = !(req.prompt.login || req.prompt.select_account) || signed_in_here;
        max_age_ok && login_ok
    };
    // prompt=none with a hint for someone else than the session's person (§3.1.2.1).
    let hinted_other = |s: &Session| req.hint_sub.as_deref().is_some_and(|sub| sub != s.account_id);
    let needs_sign_in = session.is_none_or(|s| !fresh_enough(s) || (req.prompt.none && hinted_other(s)));
    if needs_sign_in {
        return if req.prompt.none { Next::Fail(OAuthCode::LoginRequired) } else { Next::SignIn };
    }
    let weak = session.is_some_and(|s| s.acr != "2");
    if weak && level::wants_two_factors(req.acr_values.as_deref()) && !flow.step_up_skipped && !req.prompt.none {
        return Next::StepUp;
    }
    let needs_consent = !client.first_party && (!consented || req.prompt.consent);
    if needs_consent {
        return if req.prompt.none { Next::Fail(OAuthCode::ConsentRequired) } else { Next::Consent };
    }
    Next::Issue
}

#[cfg(test)]
mod validate_tests;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 10_000;

    fn client(first_party: bool) -> Client {
        serde_json::from_value(json!({
            "id": "web", "name": "web", "secret_salt": null, "secret_digest": null,
            "redirect_uris": ["https://app.example/cb"], "post_logout_redirect_uris": [],
            "grant_types": ["authorization_code"], "auth_method": "client_secret_basic",
            "first_party": first_party, "id_token_alg": "RS256", "lifetimes": {}, "created_at": 0,
        }))
        .unwrap()
    }

    fn session(account: &str, auth_time: u64, acr: &str) -> Session {
        Session {
            sid: format!("sid-{account}"),
            account_id: account.into(),
            auth_time,
            amr: vec!["pwd".into()],
            acr: acr.into(),
            created_at: auth_time,
            last_seen: auth_time,
            expires_at: NOW + 3600,
            user_agent: String::new(),
            ip: String::new(),
            clients: Vec::new(),
            idle_timeout: 0,
        }
    }

    fn flow(prompt: &str, hint_sub: Option<&str>, max_age: Option<u64>, acr_values: Option<&str>) -> Flow {
        let mut p = Prompt::default();
        for v in prompt.split(' ') {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => {}
            }
        }
        Flow::new(
            AuthRequest {
                client_id: "web".into(),
                redirect_uri: "https://app.example/cb".into(),
                scopes: vec!["openid".into()],
                state: None,
                nonce: None,
                code_challenge: None,
                response_mode: ResponseMode::Query,
                prompt: p,
                max_age,
                login_hint: None,
                ui_locales: None,
                acr_values: acr_values.map(str::to_string),
                hint_sub: hint_sub.map(str::to_string),
            },
            NOW,
        )
    }

    /// (case, flow, session, first party, consented, expected)
    type Case<'a> = (&'static str, Flow, Option<&'a Session>, bool, bool, Next);

    #[test]
    fn p2_next_step_table() {
        let alice = session("alice", NOW - 100, "1");
        let strong = session("alice", NOW - 100, "2");
        let table: Vec<Case<'_>> = vec![
            ("no session", flow("", None, None, None), None, true, false, Next::SignIn),
            (
                "no session, prompt=none",
                flow("none", None, None, None),
                None,
                true,
                false,
                Next::Fail(OAuthCode::LoginRequired),
            ),
            ("session, first party", flow("", None, None, None), Some(&alice), true, false, Next::Issue),
            ("session, prompt=none", flow("none", None, None, None), Some(&alice), true, false, Next::Issue),
            ("prompt=login", flow("login", None, None, None), Some(&alice), true, false, Next::SignIn),
            ("max_age passed", flow("", None, Some(50), None), Some(&alice), true, false, Next::SignIn),
            ("max_age kept", flow("", None, Some(500), None), Some(&alice), true, false, Next::Issue),
            ("third party", flow("", None, None, None), Some(&alice), false, false, Next::Consent),
            ("third party consented", flow("", None, None, None), Some(&alice), false, true, Next::Issue),
            (
                "third party, prompt=none",
                flow("none", None, None, None),
                Some(&alice),
                false,
                false,
                Next::Fail(OAuthCode::ConsentRequired),
            ),
            ("acr 2 wanted", flow("", None, None, Some("2")), Some(&alice), true, false, Next::StepUp),
            ("acr 2 held", flow("", None, None, Some("2")), Some(&strong), true, false, Next::Issue),
            // OIDC Core §3.1.2.1: the hint names someone else than the session's person.
            (
                "prompt=none, hint for another user",
                flow("none", Some("bob"), None, None),
                Some(&alice),
                true,
                false,
                Next::Fail(OAuthCode::LoginRequired),
            ),
            (
                "prompt=none, hint for the user",
                flow("none", Some("alice"), None, None),
                Some(&alice),
                true,
                false,
                Next::Issue,
            ),
            (
                "prompt=none, hint, no session",
                flow("none", Some("alice"), None, None),
                None,
                true,
                false,
                Next::Fail(OAuthCode::LoginRequired),
            ),
            (
                "hint for another user, may sign in",
                flow("", Some("bob"), None, None),
                Some(&alice),
                true,
                false,
                Next::Issue,
            ),
        ];
        for (case, f, s, first_party, consented, want) in table {
            assert_eq!(next(&f, s, &client(first_party), consented, NOW), want, "{case}");
        }
    }

    /// The flow after the person signed in during it (session `sid-alice`), or after a
    /// step-up turned out impossible.
    fn signed_in_here(mut f: Flow) -> Flow {
        f.signed_in = Some("sid-alice".into());
        f
    }

    fn step_up_skipped(mut f: Flow) -> Flow {
        f.step_up_skipped = true;
        f
    }

    #[test]
    fn p2_next_step_table_prompt_max_age_acr_and_consent() {
        let alice = session("alice", NOW - 100, "1");
        let other = session("bob", NOW - 100, "1");
        let table: Vec<Case<'_>> = vec![
            (
                "prompt=login, signed in here",
                signed_in_here(flow("login", None, None, None)),
                Some(&alice),
                true,
                false,
                Next::Issue,
            ),
            (
                "prompt=login, another session signed in here",
                signed_in_here(flow("login", None, None, None)),
                Some(&other),
                true,
                false,
                Next::SignIn,
            ),
            ("select_account", flow("select_account", None, None, None), Some(&alice), true, false, Next::SignIn),
            (
                "select_account, signed in here",
                signed_in_here(flow("select_account", None, None, None)),
                Some(&alice),
                true,
                false,
                Next::Issue,
            ),
            ("prompt=login, no session", flow("login", None, None, None), None, true, false, Next::SignIn),
            ("max_age exactly reached", flow("", None, Some(100), None), Some(&alice), true, false, Next::Issue),
            ("max_age one second short", flow("", None, Some(99), None), Some(&alice), true, false, Next::SignIn),
            ("max_age=0", flow("", None, Some(0), None), Some(&alice), true, false, Next::SignIn),
            (
                "max_age passed, prompt=none",
                flow("none", None, Some(50), None),
                Some(&alice),
                true,
                false,
                Next::Fail(OAuthCode::LoginRequired),
            ),
            ("prompt=consent, consented", flow("consent", None, None, None), Some(&alice), false, true, Next::Consent),
            ("prompt=consent, first party", flow("consent", None, None, None), Some(&alice), true, false, Next::Issue),
            (
                "acr 2 wanted, step-up skipped",
                step_up_skipped(flow("", None, None, Some("2"))),
                Some(&alice),
                true,
                false,
                Next::Issue,
            ),
            ("acr 2 wanted, prompt=none", flow("none", None, None, Some("2")), Some(&alice), true, false, Next::Issue),
            ("acr 2 wanted, no session", flow("", None, None, Some("2")), None, true, false, Next::SignIn),
            ("acr 1 wanted", flow("", None, None, Some("1")), Some(&alice), true, false, Next::Issue),
            ("acr 2 wanted, third party", flow("", None, None, Some("2")), Some(&alice), false, false, Next::StepUp),
        ];
        for (case, f, s, first_party, consented, want) in table {
            assert_eq!(next(&f, s, &client(first_party), consented, NOW), want, "{case}");
        }
    }
}
