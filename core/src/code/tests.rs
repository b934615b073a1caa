use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::ManualClock;

#[derive(Default)]
struct Captured(Mutex<Vec<Message>>);

impl Outbox for Captured {
    fn deliver<'a>(&'a self, m: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        self.0.lock().unwrap().push(m.clone());
        Box::pin(async { Ok(()) })
    }
}

fn last_code(c: &Captured) -> String {
    match &c.0.lock().unwrap().last().unwrap().kind {
        MessageKind::Code { code, .. } => code.clone(),
        other => panic!("{other:?}"),
    }
}

async fn setup() -> (Codes, Arc<ManualClock>, Arc<Captured>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let out = Arc::new(Captured::default());
    (Codes::new(store, clock.clone(), out.clone()), clock, out, dir)
}

const T: &str = "t";

#[tokio::test]
async fn r37_sixth_wrong_code_fails_even_when_right() {
    let (codes, _, out, _d) = setup().await;
    let s = CodeSettings::default();
    let to = Destination::sms("+8613800138000");
    codes.send(T, &s, Purpose::SignIn, &to, "1.2.3.4", "en").await.unwrap();
    let right = last_code(&out);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert!(matches!(codes.verify(T, &s, Purpose::SignIn, &to.address, wrong).await, Err(Error::CodeInvalid)));
    }
    assert!(matches!(
        codes.verify(T, &s, Purpose::SignIn, &to.address, &right).await,
        Err(Error::CodeAttemptsExceeded)
    ));
}

#[tokio::test]
async fn r37_codes_are_single_use_bound_to_purpose_and_superseded() {
    let (codes, clock, out, _d) = setup().await;
    let s = CodeSettings::default();
    let to = Destination::email("a@example.com");
    codes.send(T, &s, Purpose::Register, &to, "", "en").await.unwrap();
    let first = last_code(&out);
    assert!(codes.verify(T, &s, Purpose::SignIn, &to.address, &first).await.is_err(), "another purpose");
    clock.advance(61);
    codes.send(T, &s, Purpose::Register, &to, "", "en").await.unwrap();
    let second = last_code(&out);
    if first != second {
        assert!(codes.verify(T, &s, Purpose::Register, &to.address, &first).await.is_err(), "superseded");
    }
    codes.verify(T, &s, Purpose::Register, &to.address, &second).await.unwrap();
    assert!(codes.verify(T, &s, Purpose::Register, &to.address, &second).await.is_err(), "single use");
}

#[tokio::test]
async fn r37_expired_code_fails() {
    let (codes, clock, out, _d) = setup().await;
    let s = CodeSettings::default();
    let to = Destination::sms("+8613800138000");
    codes.send(T, &s, Purpose::SignIn, &to, "", "en").await.unwrap();
    clock.advance(s.lifetime);
    assert!(matches!(
        codes.verify(T, &s, Purpose::SignIn, &to.address, &last_code(&out)).await,
        Err(Error::CodeExpired)
    ));
}

#[tokio::test]
async fn r37_cooldown_and_daily_caps_say_when_to_retry() {
    let (codes, clock, _, _d) = setup().await;
    let s = CodeSettings { daily_per_mobile: 3, daily_per_ip: 4, ..CodeSettings::default() };
    let to = Destination::sms("+8613800138000");
    codes.send(T, &s, Purpose::SignIn, &to, "9.9.9.9", "en").await.unwrap();
    clock.advance(20);
    match codes.send(T, &s, Purpose::SignIn, &to, "9.9.9.9", "en").await {
        Err(Error::RateLimited { retry_after }) => assert_eq!(retry_after, 40),
        other => panic!("{other:?}"),
    }
    for _ in 0..2 {
        clock.advance(60);
        codes.send(T, &s, Purpose::SignIn, &to, "9.9.9.9", "en").await.unwrap();
    }
    clock.advance(60);
    match codes.send(T, &s, Purpose::SignIn, &to, "9.9.9.9", "en").await {
        Err(Error::RateLimited { retry_after }) => assert!(retry_after > 0 && retry_after <= 86400),
        other => panic!("daily cap per mobile: {other:?}"),
    }
    codes.send(T, &s, Purpose::SignIn, &Destination::sms("+8613900139000"), "9.9.9.9", "en").await.unwrap();
    let r = codes.send(T, &s, Purpose::SignIn, &Destination::sms("+8613700137000"), "9.9.9.9", "en").await;
    assert!(matches!(r, Err(Error::RateLimited { .. })), "daily cap per IP");
}
