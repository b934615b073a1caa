//! The store boundary's own rules: the transaction guard.

use serde::{Deserialize, Serialize};

use super::{Record, Store};
use crate::error::Error;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Note {
    text: String,
}

impl Record for Note {
    const TREE: &'static str = "notes";
    const VERSION: u32 = 1;
}

#[tokio::test]
async fn a_transaction_that_awaits_something_else_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let refused = store
        .transaction(&[Note::TREE], async |tx| {
            tx.put("t", "n", &Note { text: "written".into() }).await?;
            tokio::task::yield_now().await;
            Ok(())
        })
        .await;
    match refused {
        Err(Error::Storage(why)) => assert_eq!(why, super::tx::AWAITED_OTHER),
        other => panic!("expected the storage refusal, got {other:?}"),
    }
    assert_eq!(store.get::<Note>("t", "n").await.unwrap(), None);

    // The same transaction without the foreign wait commits.
    store
        .transaction(&[Note::TREE], async |tx| {
            tx.put("t", "n", &Note { text: "written".into() }).await?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(store.get::<Note>("t", "n").await.unwrap(), Some(Note { text: "written".into() }));
}
