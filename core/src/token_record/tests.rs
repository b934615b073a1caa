use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Held {
    who: String,
    expires_at: u64,
}

impl Record for Held {
    const TREE: &'static str = "token_record_test";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

fn held(who: &str) -> Held {
    Held { who: who.into(), expires_at: 100 }
}

fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(dir.path()).unwrap(), dir)
}

#[tokio::test]
async fn o4_r20_issued_tokens_are_random_and_only_their_digest_is_stored() {
    let (store, _d) = store();
    let a = issue(&store, "t", &held("a")).await.unwrap();
    let b = issue(&store, "t", &held("b")).await.unwrap();
    assert_ne!(a, b);
    assert_eq!((a.len(), b.len()), (TOKEN_LEN, TOKEN_LEN));
    assert!(store.get::<Held>("t", &a).await.unwrap().is_none(), "the token itself is no store key");
    assert_eq!(store.get::<Held>("t", &secret::digest(&a)).await.unwrap(), Some(held("a")), "its digest is");
    assert_eq!(get_live::<Held>(&store, "t", &a, 99).await.unwrap(), Some(held("a")));
    assert_eq!(get_live::<Held>(&store, "other", &a, 99).await.unwrap(), None, "per tenant");
}

#[tokio::test]
async fn o4_r20_lookups_refuse_wrong_lengths_expired_records_and_removed_ones() {
    let (store, _d) = store();
    let token = issue(&store, "t", &held("a")).await.unwrap();
    // (sent value, now) -> found
    let table: &[(&str, u64, bool)] = &[
        (&token, 99, true),
        (&token, 100, false),
        ("", 0, false),
        (&token[..TOKEN_LEN - 1], 0, false),
        ("made-up", 0, false),
    ];
    for (sent, now, found) in table {
        assert_eq!(get_live::<Held>(&store, "t", sent, *now).await.unwrap().is_some(), *found, "{sent:?} at {now}");
    }
    assert_eq!(key(""), None);
    assert_eq!(key(&"x".repeat(TOKEN_LEN + 1)), None, "a value longer than a token is never hashed");
    assert_eq!(key(&token), Some(secret::digest(&token)));

    assert_eq!(remove::<Held>(&store, "t", "made-up").await.unwrap(), None);
    assert_eq!(remove::<Held>(&store, "t", &token).await.unwrap(), Some(held("a")));
    assert_eq!(get_live::<Held>(&store, "t", &token, 0).await.unwrap(), None, "removed");
}

#[tokio::test]
async fn o4_r20_put_and_update_write_behind_the_token_only() {
    let (store, _d) = store();
    let token = issue(&store, "t", &held("a")).await.unwrap();
    put(&store, "t", &token, &held("b")).await.unwrap();
    assert_eq!(get_live::<Held>(&store, "t", &token, 0).await.unwrap(), Some(held("b")));
    let seen = update::<Held, _>(&store, "t", &token, |old| Ok((Some(held("c")), old.map(|h| h.who)))).await.unwrap();
    assert_eq!(seen.as_deref(), Some("b"));
    assert_eq!(get_live::<Held>(&store, "t", &token, 0).await.unwrap(), Some(held("c")));

    let short = "short";
    put(&store, "t", short, &held("x")).await.unwrap();
    let seen = update::<Held, _>(&store, "t", short, |old| Ok((Some(held("y")), old.is_some()))).await.unwrap();
    assert!(!seen, "a value that is no token finds nothing");
    assert!(store.scan::<Held>("t", "").await.unwrap().len() == 1, "and stores nothing");
}
