//! The federated steps of `SignIns` over a real store with a manual clock (R17, R28).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::account::{Accounts, NewAccount};
use crate::audit;
use crate::clock::{Clock, ManualClock};
use crate::code::{Codes, Message, Outbox};
use crate::credential::password::{HashParams, Passwords};
use crate::error::Error;
use crate::federation::UpstreamIdentity;
use crate::federation::detour::{self, Detour, Purpose};
use crate::federation::upstream::{ClaimMapping, Protocol, ResponseMode, UpstreamConfig, Upstreams};
use crate::policy::PolicyHost;
use crate::policy::wasm::{Limits, WasmHost};
use crate::seal::Sealer;
use crate::secret;
use crate::session::Origin;
use crate::settings::{RequireContact, TenantSettings};
use crate::signin::{Browser, FederatedStep, Linked, SignInStep, SignIns};
use crate::store::{GLOBAL, Store};
use crate::tenant::Tenant;

const T: &str = "t";
const MOBILE: &str = "+8613800138000";
const PASSWORD: &str = "correct horse battery";

struct Dropped;

impl Outbox for Dropped {
    fn deliver<'a>(&'a self, _: &'a Message) -> Pin<Box<dyn Future<Output = crate::Result<()>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

struct Kit {
    signins: SignIns,
    accounts: Arc<Accounts>,
    store: Store,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn kit(require_contact: RequireContact, create_accounts: bool) -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let codes = Arc::new(Codes::new(store.clone(), clock.clone(), Arc::new(Dropped)));
    let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
    let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
    let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes, policy.clone()));
    let sealer = Arc::new(Sealer::from_key_file(&dir.path().join("seal.key")).unwrap());
    let mut settings = TenantSettings::default();
    settings.federation.require_contact = require_contact;
    let tenant = Tenant { id: T.into(), display_name: "T".into(), created_at: 0, settings };
    store.put(GLOBAL, T, &tenant).await.unwrap();
    let up = UpstreamConfig {
        id: "up".into(),
        display_name: "Up".into(),
        icon: None,
        protocol: Protocol::Oidc,
        issuer: Some("https://up.example".into()),
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        claims: ClaimMapping::default(),
        client_id: "c".into(),
        client_secret: None,
        client_secret_jwt: None,
        scopes: Vec::new(),
        response_mode: ResponseMode::Query,
        create_accounts,
    };
    Upstreams::new(store.clone(), sealer.clone()).put(T, up, 0).await.unwrap();
    let signins = SignIns::new(store.clone(), clock.clone(), sealer, accounts.clone(), policy, 3600);
    Kit { signins, accounts, store, clock, _dir: dir }
}

fn identity(subject: &str) -> UpstreamIdentity {
    UpstreamIdentity { upstream: "up".into(), subject: subject.into(), ..Default::default() }
}

fn browser(origin: &Origin) -> Browser<'_> {
    Browser { origin, device: None, remember: None, session: None, locale: "en" }
}

fn next(tenant: &str, flow: Option<&str>) -> String {
    format!("/{tenant}/{}", flow.unwrap_or("account"))
}

fn origin() -> Origin {
    Origin { user_agent: "test".into(), ip: "1.2.3.4".into() }
}

async fn actions(store: &Store) -> Vec<String> {
    audit::recent(store, T, 50).await.unwrap().into_iter().map(|e| e.action).collect()
}

/// R17: an unknown subject waits (durably) for the person's choice; creating the
/// account signs in; the next callback of the same subject signs straight in.
#[tokio::test]
async fn r17_unknown_subject_waits_for_a_choice_then_signs_in_by_its_link() {
    let k = kit(RequireContact::None, true).await;
    let o = origin();
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::First { token } = step else { panic!("expected First, got {step:?}") };
    let p = k.signins.federated_pending(T, &token).await.unwrap().expect("stored");
    assert!(!p.owes_contact(), "no account reached yet");
    let step = k.signins.federated_create(T, browser(&o), p, next).await.unwrap();
    let FederatedStep::Step(SignInStep::SignedIn(done)) = step else { panic!("expected SignedIn, got {step:?}") };
    assert_eq!(done.next, "/t/account");
    assert!(k.signins.federated_pending(T, &token).await.unwrap().is_none(), "the pending sign-in ends");
    assert!(actions(&k.store).await.contains(&"federated_account_created".to_string()));
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), Some("f1".into()), next).await.unwrap();
    let FederatedStep::Step(SignInStep::SignedIn(done)) = step else { panic!("expected SignedIn, got {step:?}") };
    assert_eq!(done.next, "/t/f1");
}

/// R17: an upstream that may not create accounts gets no account.
#[tokio::test]
async fn r17_no_account_is_created_when_the_upstream_may_not_create() {
    let k = kit(RequireContact::None, false).await;
    let o = origin();
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::First { token } = step else { panic!("expected First, got {step:?}") };
    let p = k.signins.federated_pending(T, &token).await.unwrap().unwrap();
    let step = k.signins.federated_create(T, browser(&o), p, next).await.unwrap();
    assert!(matches!(step, FederatedStep::NoCreate), "{step:?}");
    assert!(
        k.accounts
            .federated(T, &identity("s1"))
            .await
            .is_ok_and(|o| matches!(o, crate::federation::first::Outcome::Unknown { .. }))
    );
}

/// R17: a tenant requiring a mobile keeps the pending sign-in (same token, now
/// with its account) until the account has one.
#[tokio::test]
async fn r17_a_required_contact_is_owed_before_the_sign_in_goes_on() {
    let k = kit(RequireContact::Mobile, true).await;
    let o = origin();
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::First { token } = step else { panic!("expected First, got {step:?}") };
    let p = k.signins.federated_pending(T, &token).await.unwrap().unwrap();
    let step = k.signins.federated_create(T, browser(&o), p, next).await.unwrap();
    let FederatedStep::Contact { token: kept } = step else { panic!("expected Contact, got {step:?}") };
    assert_eq!(kept, token);
    let p = k.signins.federated_pending(T, &token).await.unwrap().expect("kept");
    assert!(p.owes_contact(), "now with its account");
    // A known subject without the contact owes it too, under a new pending sign-in.
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::Contact { token } = step else { panic!("expected Contact, got {step:?}") };
    assert!(k.signins.federated_pending(T, &token).await.unwrap().is_some_and(|p| p.owes_contact()));
}

/// R17: the detour comes back once, only to the browser holding its state, only
/// from the upstream it went to, and only while it lives.
#[tokio::test]
async fn r17_the_detour_is_single_use_and_bound_to_the_browser() {
    let k = kit(RequireContact::None, true).await;
    let d = Detour {
        upstream: "up".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        flow: None,
        purpose: Purpose::SignIn,
        expires_at: k.clock.now() + detour::LIFETIME,
    };
    let state = secret::token();
    k.signins.federated_leave(T, &state, &d).await.unwrap();
    let other = secret::token();
    assert!(k.signins.federated_return(T, "up", &state, Some(&other)).await.unwrap().is_none());
    assert!(k.signins.federated_return(T, "up", &state, None).await.unwrap().is_none());
    assert!(k.signins.federated_return(T, "up", &state, Some(&state)).await.unwrap().is_some());
    assert!(k.signins.federated_return(T, "up", &state, Some(&state)).await.unwrap().is_none(), "single use");
    let state = secret::token();
    k.signins.federated_leave(T, &state, &d).await.unwrap();
    k.clock.advance(detour::LIFETIME + 1);
    assert!(k.signins.federated_return(T, "up", &state, Some(&state)).await.unwrap().is_none(), "expired");
}

/// R17 + R19: linking by password: a wrong one is refused and the choice stays;
/// the right one links, audits, and signs in with both methods.
#[tokio::test]
async fn r17_link_by_password_refuses_a_wrong_one_and_links_with_the_right_one() {
    let k = kit(RequireContact::None, true).await;
    let new = NewAccount { phone: Some(MOBILE.into()), password: PASSWORD.into(), ..Default::default() };
    let account = k.accounts.create(T, new).await.unwrap();
    k.accounts
        .modify(T, &account.id, |a| {
            for b in &mut a.bindings {
                b.verified = true;
                b.roles.login = true;
            }
            Ok(())
        })
        .await
        .unwrap();
    let o = origin();
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::First { token } = step else { panic!("expected First, got {step:?}") };
    let p = k.signins.federated_pending(T, &token).await.unwrap().unwrap();
    let step = k.signins.federated_link_by_password(T, browser(&o), p.clone(), (MOBILE, "wrong"), next);
    let step = step.await.unwrap();
    assert!(matches!(step, FederatedStep::Refused(Error::BadCredentials)), "{step:?}");
    assert!(k.signins.federated_pending(T, &token).await.unwrap().is_some(), "the choice stays");
    let step = k.signins.federated_link_by_password(T, browser(&o), p, (MOBILE, PASSWORD), next);
    let FederatedStep::Step(SignInStep::SignedIn(_)) = step.await.unwrap() else { panic!("expected SignedIn") };
    let linked = k.accounts.links(T, &account.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert!(actions(&k.store).await.contains(&"federated_linked".to_string()));
}

/// R28: linking from the account center needs the browser signed in as the
/// account that asked; unlinking the last way in is refused.
#[tokio::test]
async fn r28_link_needs_the_asking_account_and_the_last_way_in_stays() {
    let k = kit(RequireContact::None, true).await;
    let o = origin();
    let step = k.signins.federated_callback(T, browser(&o), identity("s1"), None, next).await.unwrap();
    let FederatedStep::First { token } = step else { panic!("expected First, got {step:?}") };
    let p = k.signins.federated_pending(T, &token).await.unwrap().unwrap();
    k.signins.federated_create(T, browser(&o), p, next).await.unwrap();
    let crate::federation::first::Outcome::Linked(l) = k.accounts.federated(T, &identity("s1")).await.unwrap() else {
        panic!("linked")
    };
    let id = l.account_id;
    let linked = k.signins.federated_link(T, &id, Some("someone-else"), &identity("s2"), &o, "en").await.unwrap();
    assert_eq!(linked, Linked::NotSignedIn);
    assert_eq!(k.accounts.links(T, &id).await.unwrap().len(), 1);
    let linked = k.signins.federated_link(T, &id, Some(&id), &identity("s2"), &o, "en").await.unwrap();
    assert_eq!(linked, Linked::Linked);
    assert_eq!(k.accounts.links(T, &id).await.unwrap().len(), 2);
    k.signins.federated_unlink(T, &id, "up", "s2", &o).await.unwrap();
    let last = k.signins.federated_unlink(T, &id, "up", "s1", &o).await;
    assert!(matches!(last, Err(Error::Refused(_))), "{last:?}");
    assert!(actions(&k.store).await.contains(&"federated_unlinked".to_string()));
}
