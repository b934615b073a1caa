use std::sync::Arc;

use super::*;
use crate::error::Error;

/// A test window: failures of the last hour plus the tries in flight, capped by a budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Tries {
    failed: Vec<u64>,
    in_flight: Vec<InFlight>,
}

impl Record for Tries {
    const TREE: &'static str = "limit_test_tries";
    const VERSION: u32 = 1;
}

impl Window for Tries {
    type Rules = ();
    fn at(mut self, now: u64) -> Tries {
        self.failed.retain(|t| t + HOUR > now);
        self
    }
    fn hold(&mut self, held: InFlight) {
        self.in_flight.push(held);
    }
    fn settle(&mut self, held: InFlight, outcome: Outcome, _: &(), now: u64) {
        self.in_flight.retain(|r| r.id != held.id);
        match outcome {
            Outcome::Failed => self.failed.push(now),
            Outcome::Succeeded => self.failed.clear(),
            Outcome::Released => {}
        }
    }
    fn is_empty(&self) -> bool {
        self.failed.is_empty() && self.in_flight.is_empty()
    }
}

impl Tries {
    fn count(&self) -> usize {
        self.failed.len() + self.in_flight.len()
    }
}

/// The rule of the tests: at most `budget` tries per window, failed or in flight.
fn within(budget: usize) -> impl Fn(&Tries, Option<&Tries>) -> Result<()> {
    move |s, p| {
        if s.count() >= budget || p.is_some_and(|p| p.count() >= budget) {
            return Err(Error::RateLimited { retry_after: 1 });
        }
        Ok(())
    }
}

fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(dir.path()).unwrap(), dir)
}

type Both<'a> = Limiter<'a, Tries, Tries>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_p8_parallel_reserves_against_a_budget_admit_exactly_the_budget() {
    const N: usize = 24;
    const K: usize = 5;
    let (store, _d) = store();
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tries: Vec<_> = (0..N)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                Both::new(&store).reserve("t", "a/1".into(), Some("10.0.0.1"), 100, within(K)).await.map(|(r, ())| r)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tries {
        results.push(t.await.unwrap());
    }
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, K, "N parallel reserves against a budget of K admit exactly K");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.code(), "rate_limited");
    }
    let limiter = Both::new(&store);
    assert_eq!(limiter.subject("t", "a/1", 100).await.unwrap().in_flight.len(), K, "each admitted try is held");
    assert_eq!(limiter.source("t", "10.0.0.1", 100).await.unwrap().in_flight.len(), K, "and held against the IP");
}

#[tokio::test]
async fn r19_p8_a_refused_try_holds_nothing_and_the_source_limits_every_subject() {
    let (store, _d) = store();
    let limiter = Both::new(&store);
    for i in 0..2 {
        let _held = limiter.reserve("t", format!("a/{i}"), Some("ip"), 100, within(2)).await.unwrap();
    }
    let refused = limiter.reserve("t", "a/new".into(), Some("ip"), 100, within(2)).await;
    assert!(matches!(refused, Err(Error::RateLimited { .. })), "the IP's budget holds for a new subject");
    assert!(store.get::<Tries>("t", "a/new").await.unwrap().is_none(), "a refused try stores nothing");
    let (without_ip, ()) = limiter.reserve("t", "a/new".into(), None, 100, within(2)).await.unwrap();
    assert_eq!(without_ip.source_key(), None, "no IP, no IP window");
    assert_eq!(limiter.source("t", "ip", 100).await.unwrap().in_flight.len(), 2);
}

#[tokio::test]
async fn r19_p8_settle_applies_the_outcome_to_both_windows_and_removes_empty_ones() {
    let (store, _d) = store();
    let limiter = Both::new(&store);
    let reserve = async || limiter.reserve("t", "a/1".into(), Some("ip"), 100, within(10)).await.unwrap().0;

    let failed = reserve().await;
    limiter.settle("t", failed, Outcome::Failed, &(), 101).await.unwrap();
    let want = Tries { failed: vec![101], in_flight: vec![] };
    assert_eq!(limiter.subject("t", "a/1", 101).await.unwrap(), want);
    assert_eq!(limiter.source("t", "ip", 101).await.unwrap(), want);

    let released = reserve().await;
    limiter.settle("t", released, Outcome::Released, &(), 102).await.unwrap();
    assert_eq!(limiter.subject("t", "a/1", 102).await.unwrap(), want, "a released try leaves no trace");

    let right = reserve().await;
    limiter.settle("t", right, Outcome::Succeeded, &(), 103).await.unwrap();
    assert!(store.get::<Tries>("t", "a/1").await.unwrap().is_none(), "an empty window is removed");
    assert!(store.get::<Tries>("t", &ip_key("ip")).await.unwrap().is_none());
}

/// The limiter keeps no state of its own: whatever reads the store sees the tries.
#[tokio::test]
async fn r19_p8_windows_live_in_the_store_not_in_the_limiter() {
    let (store, _d) = store();
    {
        let limiter = Both::new(&store);
        let (r, ()) = limiter.reserve("t", "a/1".into(), Some("ip"), 100, within(1)).await.unwrap();
        limiter.settle("t", r, Outcome::Failed, &(), 100).await.unwrap();
    }
    let stored = store.get::<Tries>("t", "a/1").await.unwrap().unwrap();
    assert_eq!(stored.failed, vec![100], "the failure is a stored record");
    let again = Both::new(&store.clone()).reserve("t", "a/1".into(), Some("ip"), 200, within(1)).await;
    assert!(matches!(again, Err(Error::RateLimited { .. })), "another limiter sees the failure");
    let later = Both::new(&store).reserve("t", "a/1".into(), Some("ip"), 100 + HOUR, within(1)).await;
    assert!(later.is_ok(), "and it ages out with the window");
}

#[test]
fn r19_p8_ip_keys_and_backoff() {
    assert_eq!(ip_key("10.0.0.1"), "ip/10.0.0.1");
    assert_eq!(ip_key(&"x".repeat(100)).len(), 3 + 64, "at most 64 characters of an IP are kept");
    // (in a row, after, max) -> wait
    type Case = ((u32, u32, u64), Option<u64>);
    let table: &[Case] = &[
        ((0, 5, 60), None),
        ((4, 5, 60), None),
        ((5, 5, 60), Some(1)),
        ((6, 5, 60), Some(2)),
        ((8, 5, 60), Some(8)),
        ((20, 5, 60), Some(60)),
        ((u32::MAX, 0, 60), Some(60)),
        ((7, 5, 0), Some(1)),
    ];
    for ((in_a_row, after, max), want) in table {
        assert_eq!(backoff(*in_a_row, *after, *max), *want, "{in_a_row} after {after}, max {max}");
    }
}
