//! Admin page sessions (O4): signing in on `/admin/login` with the admin token
//! starts a session with a random cookie value; the store keeps only its digest and
//! when it ends (8 hours after sign-in). Signing out removes it. A cookie derived
//! from the admin token, or any value not issued here, opens nothing. The records
//! are `token_record`s: keyed by the digest of the cookie.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::Result;
use crate::store::{GLOBAL, Record, Store};
use crate::token_record;

/// How long an admin page session lasts, in seconds.
pub const LIFETIME: u64 = 8 * 3600;

/// One signed-in admin browser, stored under the digest of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminSession {
    pub created_at: u64,
    pub expires_at: u64,
}

impl Record for AdminSession {
    const TREE: &'static str = "admin_sessions";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Starting, checking and ending admin page sessions.
pub struct AdminSessions {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl AdminSessions {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        AdminSessions { store, clock }
    }

    /// Starts a session; returns the cookie value (shown to the browser only) and
    /// its lifetime. The caller checked the admin token and commits.
    pub async fn start(&self) -> Result<(String, u64)> {
        let now = self.clock.now();
        let session = AdminSession { created_at: now, expires_at: now + LIFETIME };
        Ok((token_record::issue(&self.store, GLOBAL, &session).await?, LIFETIME))
    }

    /// True if `cookie` is a live admin session.
    pub async fn valid(&self, cookie: &str) -> Result<bool> {
        Ok(token_record::get_live::<AdminSession>(&self.store, GLOBAL, cookie, self.clock.now()).await?.is_some())
    }

    /// Ends the session behind `cookie` (nothing if there is none).
    pub async fn end(&self, cookie: &str) -> Result<()> {
        token_record::remove::<AdminSession>(&self.store, GLOBAL, cookie).await.map(|_| ())
    }

    /// Starts a session (see `start`), durably: the caller checked the admin token.
    pub async fn sign_in(&self) -> Result<(String, u64)> {
        let started = self.start().await?;
        self.store.commit().await?;
        Ok(started)
    }

    /// Ends the session behind `cookie` (see `end`), durably.
    pub async fn sign_out(&self, cookie: &str) -> Result<()> {
        self.end(cookie).await?;
        self.store.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn o4_admin_sessions_are_random_expire_and_end() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new());
        let s = AdminSessions::new(Store::open(dir.path()).unwrap(), clock.clone());
        let (a, age) = s.start().await.unwrap();
        let (b, _) = s.start().await.unwrap();
        assert_ne!(a, b);
        assert!(s.valid(&a).await.unwrap() && s.valid(&b).await.unwrap());
        assert!(!s.valid("").await.unwrap() && !s.valid("made-up").await.unwrap());
        s.end(&a).await.unwrap();
        assert!(!s.valid(&a).await.unwrap(), "signed out");
        clock.advance(age);
        assert!(!s.valid(&b).await.unwrap(), "expired");
    }
}
