//! `SignIns` over a real store with a manual clock: what each step leaves behind.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Resource;
use crate::account::second_factor::Factor;
use crate::account::{Account, Accounts, NewAccount};
use crate::audit;
use crate::clock::{Clock, ManualClock};
use crate::code::{Codes, Message, Notice, Outbox};
use crate::credential::password::{HashParams, Passwords};
use crate::credential::totp;
use crate::grant::request::{self, AuthRequest};
use crate::policy::PolicyHost;
use crate::policy::wasm::{Limits, WasmHost};
use crate::seal::Sealer;
use crate::session::Origin;
use crate::session::{AccountSession, Session};
use crate::settings::TenantSettings;
use crate::signin::journey::{self, Journey};
use crate::signin::journey::{Offer, State};
use crate::signin::remembered;
use crate::signin::second_step::Answered;
use crate::signin::step_up::StepUp;
use crate::signin::{Browser, SignInStep, SignIns};
use crate::store::{GLOBAL, Store};
use crate::tenant::Tenant;

const T: &str = "t";
const MOBILE: &str = "+8613800138000";
const PASSWORD: &str = "correct horse battery";

/// An outbox that drops every message.
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
    account_id: String,
    _dir: tempfile::TempDir,
}

async fn kit(two_step: bool) -> Kit {
    kit_with(two_step, TenantSettings::default()).await
}

async fn kit_with(two_step: bool, settings: TenantSettings) -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let codes = Arc::new(Codes::new(store.clone(), clock.clone(), Arc::new(Dropped)));
    let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
    let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
    let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes, policy.clone()));
    let sealer = Arc::new(Sealer::from_key_file(&dir.path().join("seal.key")).unwrap());
    let tenant = Tenant { id: T.into(), display_name: "T".into(), created_at: 0, settings };
    store.put(GLOBAL, T, &tenant).await.unwrap();
    let signins = SignIns::new(store.clone(), clock.clone(), sealer, accounts.clone(), policy, 3600);
    let new = NewAccount { phone: Some(MOBILE.into()), password: PASSWORD.into(), ..Default::default() };
    let account = accounts.create(T, new).await.unwrap();
    accounts
        .modify(T, &account.id, |a| {
            a.two_step = two_step;
            for b in &mut a.bindings {
                b.verified = true;
                b.roles.login = true;
            }
            a.pending_notices.push(Notice::MobileReassigned { mobile: MOBILE.into() });
            Ok(())
        })
        .await
        .unwrap();
    Kit { signins, accounts, store, clock, account_id: account.id, _dir: dir }
}

/// The journey record behind `token`, as the store holds it.
async fn stored(k: &Kit, token: &str) -> Option<Journey> {
    journey::get(&k.store, T, token, 0).await.unwrap()
}

fn browser(origin: &Origin) -> Browser<'_> {
    Browser { origin, device: None, remember: None, session: None, locale: "en" }
}

/// R9 + R20: a sign-in stopped at its second factor leaves the account's notices;
/// a wrong answer is counted durably; the next completed sign-in shows the notices once.
#[tokio::test]
async fn r9_r20_notices_wait_for_the_completed_sign_in_and_wrong_answers_are_durable() {
    let k = kit(true).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let step = k.signins.password(T, browser(&origin), None, MOBILE, PASSWORD, None, "/next".into()).await.unwrap();
    let SignInStep::Owes { token } = step else { panic!("a second factor is owed: {step:?}") };
    assert_eq!(
        k.accounts.get(T, &k.account_id).await.unwrap().pending_notices.len(),
        1,
        "notices stay at the first factor"
    );

    let p = k.signins.pending(T, &token).await.unwrap().unwrap();
    assert!(!p.owes_captcha() && !p.methods.is_empty(), "owes a second factor");
    let before = k.store.commits();
    let answered = k.signins.answer_factor(T, browser(&origin), p, Factor::Sms, "000000", false).await.unwrap();
    assert!(matches!(answered, Answered::Again { error: Some(_), .. }), "{answered:?}");
    assert_eq!(stored(&k, &token).await.unwrap().failures, 1, "the wrong answer counts against the journey");
    assert!(k.store.commits() > before + 1, "and is flushed after it is counted");
    assert_eq!(k.accounts.get(T, &k.account_id).await.unwrap().pending_notices.len(), 1);

    k.accounts
        .modify(T, &k.account_id, |a| {
            a.two_step = false;
            Ok(())
        })
        .await
        .unwrap();
    let step = k.signins.password(T, browser(&origin), None, MOBILE, PASSWORD, None, "/next".into()).await.unwrap();
    let SignInStep::SignedIn(done) = step else { panic!("signed in: {step:?}") };
    assert_eq!(done.notices, vec![Notice::MobileReassigned { mobile: MOBILE.into() }]);
    assert_eq!(done.next, "/next");
    assert!(done.device_cookie.is_some(), "a browser without a device cookie gets one");
    assert!(k.accounts.get(T, &k.account_id).await.unwrap().pending_notices.is_empty(), "shown once");
}

/// R19: a wrong password is `Failed`, not an error, and starts no session.
#[tokio::test]
async fn r19_a_wrong_password_fails_the_step() {
    let k = kit(false).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let step = k.signins.password(T, browser(&origin), None, MOBILE, "wrong", None, "/next".into()).await.unwrap();
    assert!(matches!(step, SignInStep::Failed { error: crate::Error::BadCredentials, .. }), "{step:?}");
    assert_eq!(k.accounts.get(T, &k.account_id).await.unwrap().pending_notices.len(), 1);
}

/// One step a journey takes after its password.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The authenticator code of now (right) or a wrong one.
    Totp { right: bool },
}

/// What a step answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Saw {
    SignedIn,
    /// Owes a second factor (the journey's state), may remember or not.
    OwesSecondFactor {
        may_remember: bool,
    },
    /// The second-step page again, with the refusal.
    Again,
    /// The journey ended (too many wrong answers).
    Ended,
}

/// A sign-in journey: the facts before the password, the steps after it, and
/// what each answer (the password's first) must be.
struct Case {
    name: &'static str,
    two_step: bool,
    tenant_requires: bool,
    remembered: bool,
    acr_2: bool,
    steps: Vec<Step>,
    want: Vec<Saw>,
}

/// What the store holds after a step: the journey's state, a session of the
/// account, and the authorization flow marked signed in.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    journey: Option<State>,
    sessions: usize,
    flow_marked: bool,
}

async fn held(k: &Kit, token: Option<&str>, flow: &str) -> Held {
    let now = k.clock.now();
    let sessions = k.store.scan::<AccountSession>(T, &format!("{}/", k.account_id)).await.unwrap().len();
    let flow_marked = request::load_flow(&k.store, T, flow, now).await.unwrap().is_some_and(|f| f.signed_in.is_some());
    let journey = match token {
        Some(t) => journey::get(&k.store, T, t, now).await.unwrap().map(|j| j.state),
        None => None,
    };
    Held { journey, sessions, flow_marked }
}

fn auth_request(acr_2: bool) -> AuthRequest {
    AuthRequest {
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        scopes: vec!["openid".into()],
        state: None,
        nonce: None,
        code_challenge: None,
        response_mode: request::ResponseMode::Query,
        prompt: Default::default(),
        max_age: None,
        login_hint: None,
        ui_locales: None,
        acr_values: acr_2.then(|| "2".into()),
        hint_sub: None,
    }
}

/// Enrols and confirms an authenticator for the kit's account; returns its secret.
async fn enrol_totp(k: &Kit) -> String {
    let e = k.signins.totps.begin(T, &k.account_id, "T", "me").await.unwrap();
    k.signins.totps.confirm(T, &k.account_id, &totp::code_at(&e.secret, k.clock.now()).unwrap()).await.unwrap();
    e.secret
}

/// R20, R18, P4 (issue 11 item 7): whole journeys through the machine, each answer
/// and what the store holds after it: the journey's state, the session, the flow.
#[tokio::test]
async fn r20_journeys_step_by_step_answer_and_store_what_they_owe() {
    let wrong = Step::Totp { right: false };
    let cases = vec![
        Case {
            name: "password only signs in",
            two_step: false,
            tenant_requires: false,
            remembered: false,
            acr_2: false,
            steps: vec![],
            want: vec![Saw::SignedIn],
        },
        Case {
            name: "2-step on: owes a second factor, the right code signs in",
            two_step: true,
            tenant_requires: false,
            remembered: false,
            acr_2: false,
            steps: vec![Step::Totp { right: true }],
            want: vec![Saw::OwesSecondFactor { may_remember: true }, Saw::SignedIn],
        },
        Case {
            name: "five wrong answers end the journey",
            two_step: true,
            tenant_requires: false,
            remembered: false,
            acr_2: false,
            steps: vec![wrong; 5],
            want: vec![
                Saw::OwesSecondFactor { may_remember: true },
                Saw::Again,
                Saw::Again,
                Saw::Again,
                Saw::Again,
                Saw::Ended,
            ],
        },
        Case {
            name: "a remembered device skips the tenant's rule",
            two_step: false,
            tenant_requires: true,
            remembered: true,
            acr_2: false,
            steps: vec![],
            want: vec![Saw::SignedIn],
        },
        Case {
            name: "the tenant's rule without a remembered device",
            two_step: false,
            tenant_requires: true,
            remembered: false,
            acr_2: false,
            steps: vec![Step::Totp { right: true }],
            want: vec![Saw::OwesSecondFactor { may_remember: true }, Saw::SignedIn],
        },
        Case {
            name: "a remembered device does not skip acr 2, nor may it be remembered",
            two_step: true,
            tenant_requires: false,
            remembered: true,
            acr_2: true,
            steps: vec![Step::Totp { right: true }],
            want: vec![Saw::OwesSecondFactor { may_remember: false }, Saw::SignedIn],
        },
    ];
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    for case in cases {
        let name = case.name;
        let mut settings = TenantSettings::default();
        settings.sign_in.require_second_factor = case.tenant_requires;
        let k = kit_with(case.two_step, settings).await;
        let secret = enrol_totp(&k).await;
        k.clock.advance(30);
        let flow = request::save_flow(&k.store, T, auth_request(case.acr_2), k.clock.now()).await.unwrap();
        let remember = if case.remembered {
            let device = remembered::remembered(&k.account_id, 0, 30, k.clock.now());
            Some(crate::token_record::issue(&k.store, T, &device).await.unwrap())
        } else {
            None
        };
        let mut b = browser(&origin);
        b.remember = remember.as_deref();
        let facts = k.signins.flow(T, Some(&flow)).await;
        assert!(facts.is_some(), "{name}: the flow loads");
        let step = k.signins.password(T, b, facts.as_ref(), MOBILE, PASSWORD, None, "/next".into()).await.unwrap();
        let mut want = case.want.into_iter();
        let mut token = None;
        let saw = match step {
            SignInStep::SignedIn(_) => Saw::SignedIn,
            SignInStep::Owes { token: t } => {
                let j = journey::get(&k.store, T, &t, k.clock.now()).await.unwrap().expect("stored");
                token = Some(t);
                Saw::OwesSecondFactor { may_remember: j.offer().unwrap().may_remember }
            }
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(Some(saw), want.next(), "{name}: after the password");
        let after = held(&k, token.as_deref(), &flow).await;
        match saw {
            Saw::SignedIn => assert_eq!(after, Held { journey: None, sessions: 1, flow_marked: true }, "{name}"),
            _ => {
                assert!(matches!(after.journey, Some(State::OwesSecondFactor { .. })), "{name}: {after:?}");
                assert_eq!((after.sessions, after.flow_marked), (0, false), "{name}: no session yet");
            }
        }
        for (i, s) in case.steps.into_iter().enumerate() {
            let t = token.clone().expect("a journey to answer");
            let pending = k.signins.pending(T, &t).await.unwrap().expect("live");
            assert!(!pending.owes_captcha(), "{name}");
            let Step::Totp { right } = s;
            k.clock.advance(30);
            let code = if right { totp::code_at(&secret, k.clock.now()).unwrap() } else { "000000".into() };
            let answered = k.signins.answer_factor(T, b, pending, Factor::Totp, &code, true).await.unwrap();
            let saw = match answered {
                Answered::SignedIn(_) => Saw::SignedIn,
                Answered::Again { error: Some(_), .. } => Saw::Again,
                Answered::Expired => Saw::Ended,
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!(Some(saw), want.next(), "{name}: answer {}", i + 1);
            let after = held(&k, Some(&t), &flow).await;
            let expect = match saw {
                Saw::SignedIn => Held { journey: None, sessions: 1, flow_marked: true },
                Saw::Ended => Held { journey: None, sessions: 0, flow_marked: false },
                _ => Held { journey: after.journey.clone(), sessions: 0, flow_marked: false },
            };
            assert_eq!(after, expect, "{name}: answer {}", i + 1);
            if saw == Saw::Again {
                let j = journey::get(&k.store, T, &t, k.clock.now()).await.unwrap().expect("alive");
                assert_eq!(j.failures as usize, i + 1, "{name}: counted");
            }
        }
        assert_eq!(want.next(), None, "{name}: every answer seen");
    }
}

/// P4: step-up owes a second factor on a journey that may not remember the
/// device; the right code starts an acr 2 session and marks the flow. With no
/// second factor to give, the flow is marked skipped and no journey is stored.
#[tokio::test]
async fn p4_step_up_owes_a_second_factor_or_is_skipped() {
    let k = kit(false).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let flow = request::save_flow(&k.store, T, auth_request(true), k.clock.now()).await.unwrap();
    let session = Session {
        sid: "sid".into(),
        account_id: k.account_id.clone(),
        auth_time: 0,
        amr: vec!["pwd".into()],
        acr: "1".into(),
        created_at: 0,
        last_seen: 0,
        expires_at: u64::MAX,
        user_agent: String::new(),
        ip: String::new(),
        clients: Vec::new(),
        idle_timeout: 0,
    };
    // No authenticator: but the account has a verified mobile, so SMS is offered.
    let sms_only = k.signins.step_up(T, &flow, &session, "/back".into()).await.unwrap();
    assert!(matches!(sms_only, StepUp::Owes { .. }), "{sms_only:?}");
    k.accounts
        .modify(T, &k.account_id, |a| {
            a.bindings.clear();
            Ok(())
        })
        .await
        .unwrap();
    let skipped = k.signins.step_up(T, &flow, &session, "/back".into()).await.unwrap();
    assert!(matches!(skipped, StepUp::Skipped), "{skipped:?}");
    assert!(request::load_flow(&k.store, T, &flow, k.clock.now()).await.unwrap().unwrap().step_up_skipped);

    let k = kit(false).await;
    let secret = enrol_totp(&k).await;
    let flow = request::save_flow(&k.store, T, auth_request(true), k.clock.now()).await.unwrap();
    let session = Session { account_id: k.account_id.clone(), ..session };
    let StepUp::Owes { token } = k.signins.step_up(T, &flow, &session, "/back".into()).await.unwrap() else {
        panic!("owes")
    };
    let owed = State::OwesSecondFactor { offer: Offer { may_remember: false }, password_expired: false };
    assert_eq!(held(&k, Some(&token), &flow).await, Held { journey: Some(owed), sessions: 0, flow_marked: false });
    k.clock.advance(30);
    let pending = k.signins.pending(T, &token).await.unwrap().unwrap();
    let code = totp::code_at(&secret, k.clock.now()).unwrap();
    let answered = k.signins.answer_factor(T, browser(&origin), pending, Factor::Totp, &code, true).await.unwrap();
    let Answered::SignedIn(done) = answered else { panic!("signed in: {answered:?}") };
    assert_eq!(done.next, "/back");
    assert!(done.remember.is_none(), "a step-up never remembers the device");
    assert_eq!(held(&k, Some(&token), &flow).await, Held { journey: None, sessions: 1, flow_marked: true });
    let sessions = k.store.scan::<AccountSession>(T, &format!("{}/", k.account_id)).await.unwrap();
    let (_, index) = &sessions[0];
    assert_eq!(k.store.get::<Session>(T, &index.key).await.unwrap().unwrap().acr, "2");
}

/// R18 (issue 11 item 3): the session start is one transaction. An account
/// removed while its sign-in owes a second factor fails the right answer, and the
/// store holds none of the session start: no session, the flow not marked, no
/// `sign_in` event, the journey still there.
#[tokio::test]
async fn r18_a_session_start_that_fails_leaves_nothing_behind() {
    let k = kit(true).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let secret = enrol_totp(&k).await;
    let flow = request::save_flow(&k.store, T, auth_request(false), k.clock.now()).await.unwrap();
    let facts = k.signins.flow(T, Some(&flow)).await;
    let step =
        k.signins.password(T, browser(&origin), facts.as_ref(), MOBILE, PASSWORD, None, "/n".into()).await.unwrap();
    let SignInStep::Owes { token } = step else { panic!("owes: {step:?}") };
    let pending = k.signins.pending(T, &token).await.unwrap().unwrap();
    k.store.remove::<Account>(T, &k.account_id).await.unwrap();
    k.clock.advance(30);
    let code = totp::code_at(&secret, k.clock.now()).unwrap();
    let answered = k.signins.answer_factor(T, browser(&origin), pending, Factor::Totp, &code, false).await;
    assert!(matches!(answered, Err(crate::Error::NotFound(Resource::Account))), "{answered:?}");
    let after = held(&k, Some(&token), &flow).await;
    assert_eq!((after.sessions, after.flow_marked), (0, false), "{after:?}");
    assert!(after.journey.is_some(), "the journey is not ended");
    let actions: Vec<String> = audit::recent(&k.store, T, 50).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(!actions.contains(&"sign_in".to_string()), "{actions:?}");
    assert!(k.store.scan::<Session>(T, "").await.unwrap().is_empty(), "no session record either");
}

/// R19, W1: while a journey owes the CAPTCHA a plugin asked for, a right second
/// factor is `captcha_required` and signs nobody in: no factor is sent, started or
/// checked before the CAPTCHA is solved, whatever the edge lets through.
#[tokio::test]
async fn r19_a_journey_owing_a_captcha_takes_no_second_factor_first() {
    let k = kit(true).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let secret = enrol_totp(&k).await;
    let step = k.signins.password(T, browser(&origin), None, MOBILE, PASSWORD, None, "/n".into()).await.unwrap();
    let SignInStep::Owes { token } = step else { panic!("owes: {step:?}") };
    let mut j = stored(&k, &token).await.unwrap();
    j.state = State::OwesCaptcha { then: Some(Offer { may_remember: false }), password_expired: false };
    journey::put(&k.store, T, &token, &j).await.unwrap();

    let pending = k.signins.pending(T, &token).await.unwrap().unwrap();
    assert!(pending.owes_captcha());
    let sent = k.signins.send_code(T, &pending, crate::account::Kind::Mobile, "1.2.3.4", "en").await;
    assert!(matches!(sent, Err(crate::Error::CaptchaRequired)), "{sent:?}");
    k.clock.advance(30);
    let code = totp::code_at(&secret, k.clock.now()).unwrap();
    let answered = k.signins.answer_factor(T, browser(&origin), pending, Factor::Totp, &code, false).await;
    assert!(matches!(answered, Err(crate::Error::CaptchaRequired)), "{answered:?}");
    assert!(k.store.scan::<Session>(T, "").await.unwrap().is_empty(), "no session");
    assert!(matches!(stored(&k, &token).await.unwrap().state, State::OwesCaptcha { .. }), "still owes the CAPTCHA");
}
