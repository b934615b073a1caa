//! Background deliveries: messages handed to the outbox without making the request
//! wait (R36), counted while in flight so a shutdown can let them finish and a test
//! can wait until every one was attempted instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::code::{Message, Outbox};

/// The deliveries handed over and not yet attempted (cheap to clone).
#[derive(Clone)]
pub struct Deliveries {
    pending: Arc<watch::Sender<usize>>,
}

impl Default for Deliveries {
    fn default() -> Self {
        Deliveries { pending: Arc::new(watch::Sender::new(0)) }
    }
}

/// Counts one delivery as pending until dropped, so a delivery that panics is
/// still counted as attempted.
struct InFlight(Arc<watch::Sender<usize>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Deliveries {
    /// Delivers `message` on its own task; it counts as pending from this call until
    /// the outbox answered. A failure is logged as `what` (never the message).
    pub fn spawn(&self, outbox: Arc<dyn Outbox>, message: Message, what: &'static str) {
        self.pending.send_modify(|n| *n += 1);
        let in_flight = InFlight(self.pending.clone());
        tokio::spawn(async move {
            let _in_flight = in_flight;
            if let Err(e) = outbox.deliver(&message).await {
                tracing::warn!(error = %e, "{what}");
            }
        });
    }

    /// How many deliveries were handed over and not yet attempted.
    pub fn pending(&self) -> usize {
        *self.pending.borrow()
    }

    /// Waits until no delivery is pending (each one handed over before or during the
    /// wait was attempted), at most `within`; false if some were still pending then.
    pub async fn settled(&self, within: Duration) -> bool {
        let mut rx = self.pending.subscribe();
        tokio::time::timeout(within, rx.wait_for(|n| *n == 0)).await.is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;

    use super::*;
    use crate::code::{Destination, MessageKind, Notice};

    /// An outbox that holds each delivery until released, and records what it got.
    struct Gate {
        open: tokio::sync::Semaphore,
        got: Mutex<Vec<String>>,
    }

    impl Outbox for Gate {
        fn deliver<'a>(&'a self, m: &'a Message) -> Pin<Box<dyn Future<Output = crate::Result<()>> + Send + 'a>> {
            Box::pin(async move {
                // One permit lets exactly one delivery through.
                self.open.acquire().await.unwrap().forget();
                self.got.lock().unwrap().push(m.to.address.clone());
                Err(crate::Error::Storage("refused by the test".into()))
            })
        }
    }

    fn message(to: &str) -> Message {
        Message {
            tenant: "t".into(),
            to: Destination::sms(to),
            locale: "en".into(),
            kind: MessageKind::Notice(Notice::PasswordChanged),
        }
    }

    #[tokio::test]
    async fn settled_waits_for_every_handed_over_delivery_even_a_failing_one() {
        let gate = Arc::new(Gate { open: tokio::sync::Semaphore::new(0), got: Mutex::new(Vec::new()) });
        let d = Deliveries::default();
        assert!(d.settled(Duration::ZERO).await, "nothing pending");
        d.spawn(gate.clone(), message("+1"), "test");
        d.spawn(gate.clone(), message("+2"), "test");
        assert_eq!(d.pending(), 2, "counted when handed over, before any task ran");
        assert!(!d.settled(Duration::from_millis(20)).await, "held deliveries are pending");
        gate.open.add_permits(1);
        assert!(!d.settled(Duration::from_millis(20)).await, "one is still held");
        gate.open.add_permits(1);
        assert!(d.settled(Duration::from_secs(5)).await);
        assert_eq!((d.pending(), gate.got.lock().unwrap().len()), (0, 2), "both were attempted");
    }
}
