use crate::Field;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::*;
use crate::account::NewAccount;
use crate::clock::ManualClock;
use crate::code::{Codes, Outbox};
use crate::credential::password::{HashParams, Passwords};
use crate::policy::PolicyHost;
use crate::policy::wasm::{Limits, WasmHost};
use crate::store::Store;

const T: &str = "t";
const PASSWORD: &str = "correct horse battery";

#[derive(Default)]
struct Captured(Mutex<Vec<Message>>);

impl Outbox for Captured {
    fn deliver<'a>(&'a self, m: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        self.0.lock().unwrap().push(m.clone());
        Box::pin(async { Ok(()) })
    }
}

struct Kit {
    accounts: Arc<Accounts>,
    store: Store,
    out: Arc<Captured>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let out = Arc::new(Captured::default());
    let codes = Arc::new(Codes::new(store.clone(), clock.clone(), out.clone()));
    let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
    let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
    let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes, policy));
    Kit { accounts, store, out, clock, _dir: dir }
}

impl Kit {
    async fn captcha(&self) -> String {
        let c = self.accounts.captchas().issue(T, 8).await.unwrap();
        format!("{}:{}", c.id, crate::captcha::solve(&c.salt, c.difficulty))
    }

    /// The link token in the last message sent, after the background delivery ran.
    async fn last_link_token(&self) -> String {
        for _ in 0..100 {
            if let Some(MessageKind::Link { url, .. }) = self.out.0.lock().unwrap().last().map(|m| m.kind.clone()) {
                return url.split("token=").nth(1).unwrap().to_string();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no link was sent");
    }
}

/// R36 (issue 10 item 15): a known and an unknown identifier take the same path
/// through the flush, so the answer's timing does not tell them apart.
#[tokio::test]
async fn r36_known_and_unknown_accounts_flush_alike_on_code_and_recovery_requests() {
    let k = kit();
    let settings = TenantSettings::default();
    let known = NewAccount { phone: Some("+8613800138000".into()), password: PASSWORD.into(), ..Default::default() };
    k.accounts.create(T, known).await.unwrap();
    let mut flushes = Vec::new();
    for mobile in ["+8613800138000", "+8613800139999"] {
        let before = k.store.commits();
        k.accounts.send_sign_in_code(T, &settings, mobile, "1.2.3.4", "en").await.unwrap();
        // Past the resend cooldown of the number.
        k.clock.advance(61);
        let captcha = k.captcha().await;
        let ask = Ask { ip: "1.2.3.4", locale: "en", captcha: Some(&captcha) };
        k.accounts.start_recovery(T, &settings, mobile, &ask).await.unwrap();
        k.clock.advance(61);
        let captcha = k.captcha().await;
        let ask = Ask { ip: "1.2.3.4", locale: "en", captcha: Some(&captcha) };
        k.accounts.send_account_names(T, &settings, mobile, &ask).await.unwrap();
        flushes.push(k.store.commits() - before);
    }
    assert_eq!(flushes[0], flushes[1], "known vs unknown: {flushes:?}");
    assert!(flushes[0] >= 3, "each request flushes: {flushes:?}");

    let known = NewAccount { email: Some("ann@example.com".into()), password: PASSWORD.into(), ..Default::default() };
    k.accounts.create(T, known).await.unwrap();
    let mut flushes = Vec::new();
    for email in ["ann@example.com", "nobody@example.com"] {
        let before = k.store.commits();
        let captcha = k.captcha().await;
        let ask = Ask { ip: "1.2.3.4", locale: "en", captcha: Some(&captcha) };
        k.accounts.start_recovery_link(T, &settings, email, &ask, "http://x/reset").await.unwrap();
        flushes.push(k.store.commits() - before);
    }
    assert_eq!(flushes, vec![1, 1]);
}

fn refused_as_invalid(r: &Result<String>) -> bool {
    matches!(r, Err(Error::Invalid { field: Field::Password, .. }))
}

/// R34 (issue 10 item 15): a reset link refused for its new password (policy or
/// history) still works; used with a good one, it is gone, once, even in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r34_a_reset_link_survives_a_refused_password_and_works_once() {
    let k = kit();
    let settings = TenantSettings::default();
    let ann = NewAccount { email: Some("ann@example.com".into()), password: PASSWORD.into(), ..Default::default() };
    k.accounts.create(T, ann).await.unwrap();
    let captcha = k.captcha().await;
    let ask = Ask { ip: "1.2.3.4", locale: "en", captcha: Some(&captcha) };
    k.accounts.start_recovery_link(T, &settings, "ann@example.com", &ask, "http://x/reset").await.unwrap();
    let token = k.last_link_token().await;

    let too_short = k.accounts.finish_recovery_link(T, &settings, &token, "short", "en").await;
    assert!(refused_as_invalid(&too_short), "{too_short:?}");
    let same_as_before = k.accounts.finish_recovery_link(T, &settings, &token, PASSWORD, "en").await;
    assert!(refused_as_invalid(&same_as_before), "the history refuses it: {same_as_before:?}");
    assert!(k.accounts.recovery_link_valid(T, &token).await, "the link survives both");

    let tries: Vec<_> = (0..8)
        .map(|i| {
            let (accounts, token) = (k.accounts.clone(), token.clone());
            tokio::spawn(async move {
                let settings = TenantSettings::default();
                accounts.finish_recovery_link(T, &settings, &token, &format!("a new password {i}"), "en").await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::CodeInvalid | Error::CodeExpired) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1, "one link, one change");
    assert!(!k.accounts.recovery_link_valid(T, &token).await);
}
