//! Group commit: callers announce they need durability; one background task flushes
//! for all callers that announced before the flush began.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

use crate::error::{Error, Result};

pub(super) struct GroupCommit {
    requested: AtomicU64,
    wake: Arc<Notify>,
    /// (last request number made durable, error of the last flush if it failed)
    done: watch::Receiver<(u64, Option<String>)>,
}

impl GroupCommit {
    pub(super) fn start(db: sled::Db) -> Arc<GroupCommit> {
        let (tx, rx) = watch::channel((0, None));
        let wake = Arc::new(Notify::new());
        let gc = Arc::new(GroupCommit { requested: AtomicU64::new(0), wake: wake.clone(), done: rx });
        let weak = Arc::downgrade(&gc);
        tokio::spawn(async move {
            loop {
                let notified = wake.notified();
                let Some(gc) = weak.upgrade() else { return };
                let target = gc.requested.load(Ordering::SeqCst);
                if target == tx.borrow().0 {
                    drop(gc);
                    notified.await;
                    continue;
                }
                drop(gc);
                let result = db.flush_async().await;
                let _ = tx.send((target, result.err().map(|e| e.to_string())));
            }
        });
        gc
    }

    /// How many commits were asked for so far.
    #[cfg(test)]
    pub(super) fn requested(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    pub(super) async fn wait(&self) -> Result<()> {
        let mine = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let mut done = self.done.clone();
        let state = done.wait_for(|(n, _)| *n >= mine).await.map_err(|_| Error::Storage("store closed".into()))?;
        match &state.1 {
            Some(e) => Err(Error::Storage(e.clone())),
            None => Ok(()),
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Wake the flusher so it sees the store is gone and ends.
        self.wake.notify_one();
    }
}
