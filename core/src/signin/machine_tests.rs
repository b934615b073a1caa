//! `SignIns` over a real store with a manual clock: what each step leaves behind.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::account::second_factor::Factor;
use crate::account::{Accounts, NewAccount};
use crate::clock::ManualClock;
use crate::code::{Codes, Message, Notice, Outbox};
use crate::credential::password::{HashParams, Passwords};
use crate::policy::PolicyHost;
use crate::policy::wasm::{Limits, WasmHost};
use crate::seal::Sealer;
use crate::session::Origin;
use crate::settings::TenantSettings;
use crate::signin::journey::{self, Journey};
use crate::signin::second_step::Answered;
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
    account_id: String,
    _dir: tempfile::TempDir,
}

async fn kit(two_step: bool) -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let codes = Arc::new(Codes::new(store.clone(), clock.clone(), Arc::new(Dropped)));
    let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
    let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
    let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes, policy.clone()));
    let sealer = Arc::new(Sealer::from_key_file(&dir.path().join("seal.key")).unwrap());
    let tenant = Tenant { id: T.into(), display_name: "T".into(), created_at: 0, settings: TenantSettings::default() };
    store.put(GLOBAL, T, &tenant).unwrap();
    let signins = SignIns::new(store.clone(), clock, sealer, accounts.clone(), policy, 3600);
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
        .unwrap();
    Kit { signins, accounts, store, account_id: account.id, _dir: dir }
}

/// The journey record behind `token`, as the store holds it.
fn stored(k: &Kit, token: &str) -> Option<Journey> {
    journey::get(&k.store, T, token, 0).unwrap()
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
    assert_eq!(k.accounts.get(T, &k.account_id).unwrap().pending_notices.len(), 1, "notices stay at the first factor");

    let p = k.signins.pending(T, &token).unwrap().unwrap();
    assert!(!p.owes_captcha() && !p.methods.is_empty(), "owes a second factor");
    let before = k.store.commits();
    let answered = k.signins.answer_factor(T, browser(&origin), p, Factor::Sms, "000000", false).await.unwrap();
    assert!(matches!(answered, Answered::Again { error: Some(_), .. }), "{answered:?}");
    assert_eq!(stored(&k, &token).unwrap().failures, 1, "the wrong answer counts against the journey");
    assert!(k.store.commits() > before + 1, "and is flushed after it is counted");
    assert_eq!(k.accounts.get(T, &k.account_id).unwrap().pending_notices.len(), 1);

    k.accounts
        .modify(T, &k.account_id, |a| {
            a.two_step = false;
            Ok(())
        })
        .unwrap();
    let step = k.signins.password(T, browser(&origin), None, MOBILE, PASSWORD, None, "/next".into()).await.unwrap();
    let SignInStep::SignedIn(done) = step else { panic!("signed in: {step:?}") };
    assert_eq!(done.notices, vec![Notice::MobileReassigned { mobile: MOBILE.into() }]);
    assert_eq!(done.next, "/next");
    assert!(done.device_cookie.is_some(), "a browser without a device cookie gets one");
    assert!(k.accounts.get(T, &k.account_id).unwrap().pending_notices.is_empty(), "shown once");
}

/// R19: a wrong password is `Failed`, not an error, and starts no session.
#[tokio::test]
async fn r19_a_wrong_password_fails_the_step() {
    let k = kit(false).await;
    let origin = Origin { user_agent: "test".into(), ip: "1.2.3.4".into() };
    let step = k.signins.password(T, browser(&origin), None, MOBILE, "wrong", None, "/next".into()).await.unwrap();
    assert!(matches!(step, SignInStep::Failed { error: crate::Error::BadCredentials, .. }), "{step:?}");
    assert_eq!(k.accounts.get(T, &k.account_id).unwrap().pending_notices.len(), 1);
}
