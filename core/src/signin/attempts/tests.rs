use super::*;
use crate::clock::ManualClock;
use crate::limit::ip_key;

fn setup() -> (Arc<Attempts>, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    (Arc::new(Attempts::new(store, clock.clone())), clock, dir)
}

fn retry_after<T: std::fmt::Debug>(r: Result<T>) -> u64 {
    match r {
        Err(Error::RateLimited { retry_after }) => retry_after,
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

/// One try checked and answered in turn, as a sequential client does.
async fn fail(a: &Attempts, rules: &SignInSettings, who: &Subject<'_>, ip: &str) -> Result<()> {
    let t = a.reserve("t", rules, who, ip, Captcha::Answered).await?;
    a.settle("t", rules, t, Outcome::Failed).await
}

#[tokio::test]
async fn r19_backoff_doubles_and_success_clears_it() {
    let (a, clock, _d) = setup();
    let rules = SignInSettings::default();
    let who = Subject::Account("1");
    for _ in 0..5 {
        fail(&a, &rules, &who, "ip").await.unwrap();
    }
    assert_eq!(retry_after(a.check("t", &rules, &who, "ip").await), 1);
    assert_eq!(retry_after(a.reserve("t", &rules, &who, "ip", Captcha::Answered).await), 1);
    clock.advance(1);
    fail(&a, &rules, &who, "ip").await.unwrap();
    assert_eq!(retry_after(a.check("t", &rules, &who, "ip").await), 2);
    clock.advance(2);
    let t = a.reserve("t", &rules, &who, "ip", Captcha::Answered).await.unwrap();
    assert!(t.captcha, "six in a row need a CAPTCHA");
    a.settle("t", &rules, t, Outcome::Succeeded).await.unwrap();
    assert_eq!(a.check("t", &rules, &who, "ip").await.unwrap(), Gate { captcha: false });
}

#[tokio::test]
async fn r19_the_101st_failure_in_an_hour_waits_for_the_oldest_to_age_out() {
    let (a, clock, _d) = setup();
    let rules = SignInSettings { max_failures_per_hour: 1000, captcha_after: 1000, ..Default::default() };
    let who = Subject::Unknown("someone@example.com");
    for _ in 0..100 {
        if let Err(Error::RateLimited { retry_after }) = a.check("t", &rules, &who, "ip").await {
            clock.advance(retry_after);
        }
        fail(&a, &rules, &who, "ip").await.unwrap();
    }
    let wait = retry_after(a.check("t", &rules, &who, "ip").await);
    assert!(wait > 30, "the hourly cap, not the backoff, holds: {wait}");
    clock.advance(wait);
    assert!(a.check("t", &rules, &who, "ip").await.is_ok(), "never locked for good");
}

#[tokio::test]
async fn r19_captcha_after_failures_in_a_row_and_from_a_busy_ip() {
    let (a, _clock, _d) = setup();
    let rules = SignInSettings { captcha_after_ip_failures: 5, ..Default::default() };
    let who = Subject::Account("1");
    for _ in 0..3 {
        fail(&a, &rules, &who, "10.0.0.1").await.unwrap();
    }
    assert!(a.check("t", &rules, &who, "10.0.0.2").await.unwrap().captcha);
    let refused = a.reserve("t", &rules, &who, "10.0.0.2", Captcha::Missing).await;
    assert!(matches!(refused, Err(Error::CaptchaRequired)), "{refused:?}");
    for i in 0..2 {
        fail(&a, &rules, &Subject::Account(&i.to_string()), "10.0.0.1").await.unwrap();
    }
    assert!(a.ip_needs_captcha("t", &rules, "10.0.0.1").await.unwrap());
    assert!(!a.ip_needs_captcha("t", &rules, "10.0.0.2").await.unwrap());
    assert!(a.check("t", &rules, &Subject::Account("9"), "10.0.0.1").await.unwrap().captcha);
}

fn flights(n: usize, at: u64) -> Vec<InFlight> {
    (0..n).map(|i| InFlight { id: i as u64, at }).collect()
}

/// (in a row, recent failures, in flight, ip failures, ip in flight)
type Case = (u32, usize, usize, u32, usize);

/// The rule itself: tries in flight count as failures to come (R19).
#[test]
fn r19_tries_in_flight_count_like_failures() {
    const NOW: u64 = 1_000_000;
    let rules = SignInSettings::default();
    let ok = |captcha| Ok::<Gate, Error>(Gate { captcha });
    let limited = |retry_after| Err::<Gate, Error>(Error::RateLimited { retry_after });
    // (in a row, recent failures, in flight, ip failures, ip in flight) -> gate
    let table: &[(Case, Result<Gate>)] = &[
        ((0, 0, 0, 0, 0), ok(false)),
        ((0, 0, 2, 0, 2), ok(false)),
        ((2, 2, 0, 2, 0), ok(false)),
        // captcha_after (3): failures and tries in flight alike.
        ((3, 3, 0, 3, 0), ok(true)),
        ((0, 0, 3, 0, 3), ok(true)),
        ((1, 1, 2, 1, 2), ok(true)),
        // backoff_after (5): the next try waits, whether the five failed or are in flight.
        ((5, 5, 0, 5, 0), ok(true)),
        ((6, 6, 0, 6, 0), ok(true)),
        ((3, 3, 2, 3, 2), limited(1)),
        ((0, 0, 5, 0, 5), limited(1)),
        ((3, 3, 3, 3, 3), limited(2)),
        ((0, 0, 4, 0, 4), ok(true)),
        // the hourly cap (100) counts tries in flight too.
        ((0, 99, 1, 0, 1), limited(1)),
        // captcha_after_ip_failures (20) and max_ip_failures_per_hour (500) per IP.
        ((0, 0, 0, 19, 1), ok(true)),
        ((0, 0, 0, 499, 1), limited(1)),
    ];
    for ((in_a_row, recent, flying, ip_count, ip_flying), want) in table {
        // The settled failures are a minute old: a wait of up to 60 s after them has passed.
        let last = NOW - 60;
        let f = Failures { recent: vec![last; *recent], in_a_row: *in_a_row, last, in_flight: flights(*flying, NOW) };
        let w = IpFailures { window_start: last, count: *ip_count, in_flight: flights(*ip_flying, NOW) };
        let got = decide(&rules, &f, Some(&w), NOW);
        let case = (in_a_row, recent, flying, ip_count, ip_flying);
        match (&got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{case:?}"),
            (Err(Error::RateLimited { retry_after: g }), Err(Error::RateLimited { retry_after: w })) => {
                assert_eq!(g, w, "{case:?}")
            }
            _ => panic!("{case:?}: got {got:?}, want {want:?}"),
        }
    }
}

/// A burst: reservations that are not settled yet hold the limits, per mode.
#[tokio::test]
async fn r19_a_burst_of_unsettled_tries_is_capped() {
    let rules = SignInSettings::default();
    for (captcha, admitted, then) in [
        (Captcha::Missing, 3, "captcha_required"),
        (Captcha::Answered, 5, "rate_limited"),
        (Captcha::NotAsked, 5, "rate_limited"),
    ] {
        let (a, _clock, _d) = setup();
        let who = Subject::Account("1");
        let mut tickets = Vec::new();
        let refusal = loop {
            match a.reserve("t", &rules, &who, "ip", captcha).await {
                Ok(t) => tickets.push(t),
                Err(e) => break e,
            }
        };
        assert_eq!((tickets.len(), refusal.code()), (admitted, then), "{captcha:?}");
        let due: Vec<bool> = tickets.iter().map(|t| t.captcha).collect();
        let want: Vec<bool> = (0..admitted).map(|i| captcha == Captcha::Answered && i >= 3).collect();
        assert_eq!(due, want, "{captcha:?}: the CAPTCHA gate inside the burst");
        for t in tickets {
            a.settle("t", &rules, t, Outcome::Failed).await.unwrap();
        }
        match admitted {
            5 => assert_eq!(retry_after(a.check("t", &rules, &who, "ip").await), 1, "settled, they still hold"),
            _ => assert!(a.check("t", &rules, &who, "ip").await.unwrap().captcha, "settled, they still hold"),
        }
    }
}

/// Threads racing for the same account: exactly the allowed number gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r19_parallel_reservations_are_atomic() {
    let (a, _clock, _d) = setup();
    let rules = SignInSettings::default();
    let tries: Vec<_> = (0..30)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move {
                let rules = SignInSettings::default();
                a.reserve("t", &rules, &Subject::Account("1"), "10.0.0.1", Captcha::NotAsked).await.is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tries {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, rules.backoff_after as usize);
}

#[tokio::test]
async fn r19_an_unsettled_try_ages_out_and_a_released_one_does_not_count() {
    let (a, clock, _d) = setup();
    let rules = SignInSettings::default();
    let who = Subject::Account("1");
    for _ in 0..5 {
        let _abandoned = a.reserve("t", &rules, &who, "ip", Captcha::NotAsked).await.unwrap();
    }
    assert!(a.reserve("t", &rules, &who, "ip", Captcha::NotAsked).await.is_err());
    clock.advance(RESERVATION_TTL);
    assert_eq!(a.check("t", &rules, &who, "ip").await.unwrap(), Gate { captcha: false }, "a crash locks nobody out");
    for _ in 0..10 {
        let t = a.reserve("t", &rules, &who, "ip", Captcha::Missing).await.unwrap();
        a.settle("t", &rules, t, Outcome::Released).await.unwrap();
    }
    assert_eq!(a.check("t", &rules, &who, "ip").await.unwrap(), Gate { captcha: false });
}

#[tokio::test]
async fn r19_a_slow_failure_still_counts_and_a_success_keeps_other_tries_in_flight() {
    let (a, clock, _d) = setup();
    let rules = SignInSettings::default();
    let who = Subject::Account("1");
    let slow = a.reserve("t", &rules, &who, "ip", Captcha::NotAsked).await.unwrap();
    clock.advance(RESERVATION_TTL + 1);
    a.settle("t", &rules, slow, Outcome::Failed).await.unwrap();
    let f = a.store.get::<Failures>("t", &who.key()).await.unwrap().unwrap();
    assert_eq!((f.in_a_row, f.in_flight.len()), (1, 0));
    let w = a.store.get::<IpFailures>("t", &ip_key("ip")).await.unwrap().unwrap();
    assert_eq!((w.count, w.in_flight.len()), (1, 0));

    let mut others: Vec<Ticket> = Vec::new();
    for _ in 0..3 {
        others.push(a.reserve("t", &rules, &who, "ip", Captcha::Answered).await.unwrap());
    }
    let right = a.reserve("t", &rules, &who, "ip", Captcha::Answered).await.unwrap();
    a.settle("t", &rules, right, Outcome::Succeeded).await.unwrap();
    let f = a.store.get::<Failures>("t", &who.key()).await.unwrap().unwrap();
    assert_eq!((f.in_a_row, f.recent.len(), f.in_flight.len()), (0, 0, 3), "the others still count");
    for t in others {
        a.settle("t", &rules, t, Outcome::Released).await.unwrap();
    }
    assert!(a.store.get::<Failures>("t", &who.key()).await.unwrap().is_none(), "nothing left to keep");
}
