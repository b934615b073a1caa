//! The authorization machine against a real store: code issue writes the code, its
//! family and the session note together or not at all; consent allow and deny.

use std::sync::Arc;

use super::*;
use crate::client::{Clients, GrantType, NewClient};
use crate::clock::ManualClock;
use crate::error::Error;
use crate::grant::request::AuthorizeParams;
use crate::seal::Sealer;
use crate::session::Origin;
use crate::store::abort;
use crate::tenant::Tenants;

const T: &str = "t";
const CB: &str = "https://app.example/cb";

struct Kit {
    auth: Authorizations,
    store: Store,
    sessions: Sessions,
    _dir: tempfile::TempDir,
}

async fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new());
    let sealer = Arc::new(Sealer::new([7; 32]));
    let keys = Arc::new(Keys::new(store.clone(), clock.clone(), sealer.clone(), 3600));
    Tenants::new(store.clone(), clock.clone()).create(&keys, T, "T").await.unwrap();
    let clients = Clients::new(store.clone(), sealer.clone());
    for (id, first_party) in [("web", true), ("third", false)] {
        let new = NewClient {
            id: id.into(),
            redirect_uris: vec![CB.into()],
            grant_types: vec![GrantType::AuthorizationCode],
            first_party,
            ..NewClient::default()
        };
        clients.create(clock.as_ref(), T, new).await.unwrap();
    }
    Kit {
        auth: Authorizations::new(store.clone(), clock.clone(), keys, sealer, "https://id.example"),
        sessions: Sessions::new(store.clone(), clock, 3600),
        store,
        _dir: dir,
    }
}

fn params(client: &str) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some(client.into()),
        redirect_uri: Some(CB.into()),
        scope: Some("openid profile".into()),
        state: Some("s1".into()),
        ..AuthorizeParams::default()
    }
}

async fn signed_in(k: &Kit) -> (String, Session) {
    k.sessions.start(T, "alice", vec!["pwd".into()], &Origin::default()).await.unwrap()
}

fn code_of(outcome: &Authorized) -> String {
    match outcome {
        Authorized::Redirect { params, .. } => params.iter().find(|(k, _)| *k == "code").unwrap().1.clone(),
        other => panic!("no code: {other:?}"),
    }
}

fn flow_of(outcome: &Authorized) -> String {
    match outcome {
        Authorized::SignIn { flow_id } | Authorized::Consent { flow_id, .. } => flow_id.clone(),
        other => panic!("no saved flow: {other:?}"),
    }
}

async fn families(store: &Store) -> usize {
    store.scan::<Family>(T, "").await.unwrap().len()
}

#[tokio::test]
async fn p2_code_family_and_session_note_are_written_together_and_the_flow_ends() {
    let k = kit().await;
    let saved = k.auth.authorize(T, params("web"), None).await.unwrap();
    let flow = flow_of(&saved);
    assert!(matches!(saved, Authorized::SignIn { .. }));
    let (cookie, session) = signed_in(&k).await;
    let out = k.auth.resume(T, &flow, Some(&cookie)).await.unwrap();
    let code = code_of(&out);
    let rec = k.store.get::<CodeRecord>(T, &secret::digest(&code)).await.unwrap().expect("the code is stored");
    let fam = k.store.get::<Family>(T, &rec.grant.family).await.unwrap().expect("its family is stored with it");
    assert_eq!((fam.account_id.as_str(), fam.client_id.as_str()), ("alice", "web"));
    assert_eq!(rec.grant.sid, session.sid);
    let noted = k.store.get::<AccountFamily>(T, &format!("alice/{}", rec.grant.family)).await.unwrap();
    assert!(noted.is_some(), "the account's family index is written with the family");
    let touched = k.sessions.get(T, &cookie).await.unwrap().unwrap();
    assert_eq!(touched.clients, vec!["web".to_string()], "the session notes the client");
    assert!(k.auth.flow(T, &flow).await.unwrap().is_none(), "the flow ended with the issue");
    assert!(matches!(k.auth.resume(T, &flow, Some(&cookie)).await.unwrap(), Authorized::Expired));
}

#[tokio::test]
async fn p2_an_aborted_code_issue_leaves_neither_code_nor_family_nor_flow_change() {
    let k = kit().await;
    let flow = flow_of(&k.auth.authorize(T, params("web"), None).await.unwrap());
    let (cookie, session) = signed_in(&k).await;
    let saved = k.auth.flow(T, &flow).await.unwrap().unwrap();
    let client = k.auth.clients.get(T, "web").await.unwrap();
    let issue = Issue {
        family: "fam1".into(),
        code: "code1".into(),
        horizon: u64::MAX,
        grant: Grant {
            family: String::new(),
            client_id: client.id.clone(),
            account_id: session.account_id.clone(),
            scopes: saved.request.scopes.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: session.acr.clone(),
            sid: session.sid.clone(),
            nonce: None,
        },
        request: &saved.request,
        cookie: &cookie,
        flow_id: Some(&flow),
        now: 1,
    };
    let failed: Result<()> = k
        .store
        .transaction(ISSUE_TREES, async |tx| {
            issue_in(tx, T, &issue).await?;
            abort(Error::Storage("disk full".into()))
        })
        .await;
    assert!(failed.is_err());
    assert!(k.store.get::<CodeRecord>(T, &secret::digest("code1")).await.unwrap().is_none(), "no code");
    assert_eq!(families(&k.store).await, 0, "no family without its code");
    assert!(k.store.get::<AccountFamily>(T, "alice/fam1").await.unwrap().is_none(), "no family index");
    assert!(k.auth.flow(T, &flow).await.unwrap().is_some(), "the flow waits on");
    assert!(k.sessions.get(T, &cookie).await.unwrap().unwrap().clients.is_empty(), "the session is untouched");
}

#[tokio::test]
async fn p2_consent_allow_is_remembered_and_issues_the_code() {
    let k = kit().await;
    let (cookie, _) = signed_in(&k).await;
    let asked = k.auth.authorize(T, params("third"), Some(&cookie)).await.unwrap();
    let Authorized::Consent { flow_id, client_name, scopes, .. } = &asked else { panic!("{asked:?}") };
    assert_eq!((client_name.as_str(), scopes.clone()), ("third", vec!["openid".to_string(), "profile".into()]));
    let out = k.auth.consent(T, flow_id, Some(&cookie), true).await.unwrap();
    code_of(&out);
    assert!(k.auth.flow(T, flow_id).await.unwrap().is_none(), "the flow ended with the code");
    let scopes = vec!["openid".to_string(), "profile".into()];
    assert!(consent::covers(&k.store, T, "alice", "third", &scopes).await.unwrap(), "consent remembered");
    let again = k.auth.authorize(T, params("third"), Some(&cookie)).await.unwrap();
    code_of(&again);
}

#[tokio::test]
async fn p2_consent_with_prompt_consent_is_asked_again_and_cleared_on_allow() {
    let k = kit().await;
    let (cookie, _) = signed_in(&k).await;
    let first = flow_of(&k.auth.authorize(T, params("third"), Some(&cookie)).await.unwrap());
    code_of(&k.auth.consent(T, &first, Some(&cookie), true).await.unwrap());
    let p = AuthorizeParams { prompt: Some("consent".into()), ..params("third") };
    let asked = k.auth.authorize(T, p, Some(&cookie)).await.unwrap();
    let flow = flow_of(&asked);
    assert!(matches!(asked, Authorized::Consent { .. }), "prompt=consent asks even with consent on record");
    code_of(&k.auth.consent(T, &flow, Some(&cookie), true).await.unwrap());
}

#[tokio::test]
async fn p2_consent_deny_ends_the_flow_and_answers_access_denied() {
    let k = kit().await;
    let (cookie, _) = signed_in(&k).await;
    let flow = flow_of(&k.auth.authorize(T, params("third"), Some(&cookie)).await.unwrap());
    let out = k.auth.consent(T, &flow, Some(&cookie), false).await.unwrap();
    let Authorized::ErrorToClient { to, error, .. } = &out else { panic!("{out:?}") };
    assert_eq!((to.redirect_uri.as_str(), error.as_str(), to.state.as_deref()), (CB, "access_denied", Some("s1")));
    assert!(k.auth.flow(T, &flow).await.unwrap().is_none(), "the denied flow is gone");
    let scopes = vec!["openid".to_string()];
    assert!(!consent::covers(&k.store, T, "alice", "third", &scopes).await.unwrap(), "nothing remembered");
    assert_eq!(families(&k.store).await, 0);
}

#[tokio::test]
async fn p2_consent_without_session_or_flow_is_expired() {
    let k = kit().await;
    let (cookie, _) = signed_in(&k).await;
    let flow = flow_of(&k.auth.authorize(T, params("third"), Some(&cookie)).await.unwrap());
    assert!(matches!(k.auth.consent(T, &flow, None, true).await.unwrap(), Authorized::Expired));
    assert!(matches!(k.auth.consent(T, "nope", Some(&cookie), true).await.unwrap(), Authorized::Expired));
    assert!(k.auth.flow(T, &flow).await.unwrap().is_some(), "a refused answer leaves the flow");
}

#[tokio::test]
async fn p2_unknown_tenant_and_untrusted_client_get_pages() {
    let k = kit().await;
    assert!(matches!(k.auth.authorize("nope", params("web"), None).await.unwrap(), Authorized::UnknownTenant));
    let out = k.auth.authorize(T, params("ghost"), None).await.unwrap();
    assert!(matches!(out, Authorized::ErrorPage { error: OAuthCode::InvalidClient, .. }), "{out:?}");
    let p = AuthorizeParams { prompt: Some("none".into()), ..params("web") };
    let out = k.auth.authorize(T, p, None).await.unwrap();
    assert!(matches!(out, Authorized::ErrorToClient { error: OAuthCode::LoginRequired, .. }), "{out:?}");
}

/// A record in the sessions tree that no longer reads as a session, so a code
/// issue fails at its last write but one.
#[derive(serde::Serialize, serde::Deserialize)]
struct Unreadable;

impl crate::store::Record for Unreadable {
    const TREE: &'static str = Session::TREE;
    const VERSION: u32 = 99;
}

#[tokio::test]
async fn p2_a_code_issue_that_fails_midway_writes_nothing() {
    let k = kit().await;
    let flow = flow_of(&k.auth.authorize(T, params("web"), None).await.unwrap());
    let (_, session) = signed_in(&k).await;
    k.store.put(T, &secret::digest("broken"), &Unreadable).await.unwrap();
    let saved = k.auth.flow(T, &flow).await.unwrap().unwrap();
    let client = k.auth.clients.get(T, "web").await.unwrap();
    let failed = k.auth.issue_code(T, Some(&flow), &saved.request, &client, "broken", &session).await;
    assert!(failed.is_err(), "the session note cannot be written");
    assert_eq!(families(&k.store).await, 0, "no family without its code");
    assert!(k.store.scan::<CodeRecord>(T, "").await.unwrap().is_empty(), "no code");
    assert!(k.store.scan::<AccountFamily>(T, "").await.unwrap().is_empty(), "no family index");
    assert!(k.auth.flow(T, &flow).await.unwrap().is_some(), "the flow waits on");
}
