//! Browser sessions: the cookie value is a random token; the store keeps only its
//! digest. One session signs the person in to every client of the tenant (R7).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::Result;
use crate::secret;
use crate::store::{Record, Store};

/// A signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Public session id, the `sid` claim (not the cookie).
    pub sid: String,
    pub account_id: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub acr: String,
    pub created_at: u64,
    pub last_seen: u64,
    pub expires_at: u64,
    pub user_agent: String,
    pub ip: String,
    /// Clients that received tokens in this session.
    pub clients: Vec<String>,
}

impl Record for Session {
    const TREE: &'static str = "sessions";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Where a sign-in came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: String,
    pub ip: String,
}

pub struct Sessions {
    store: Store,
    clock: Arc<dyn Clock>,
    ttl: u64,
}

impl Sessions {
    pub fn new(store: Store, clock: Arc<dyn Clock>, ttl: u64) -> Self {
        Sessions { store, clock, ttl }
    }

    /// Starts a session; returns the cookie value (shown to the browser only).
    pub fn start(
        &self,
        tenant: &str,
        account_id: &str,
        amr: Vec<String>,
        origin: &Origin,
    ) -> Result<(String, Session)> {
        let now = self.clock.now();
        let cookie = secret::token();
        let session = Session {
            sid: secret::token_of(16),
            account_id: account_id.to_string(),
            auth_time: now,
            amr,
            acr: "1".into(),
            created_at: now,
            last_seen: now,
            expires_at: now + self.ttl,
            user_agent: origin.user_agent.chars().take(300).collect(),
            ip: origin.ip.clone(),
            clients: Vec::new(),
        };
        self.store.put(tenant, &secret::digest(&cookie), &session)?;
        Ok((cookie, session))
    }

    /// The live session behind a cookie value.
    pub fn get(&self, tenant: &str, cookie: &str) -> Result<Option<Session>> {
        self.store.get_live(tenant, &secret::digest(cookie), self.clock.now())
    }

    /// Notes that `client` got tokens in this session, and when it was last used.
    pub fn touch(&self, tenant: &str, cookie: &str, client: &str) -> Result<()> {
        let now = self.clock.now();
        self.store.update::<Session, _>(tenant, &secret::digest(cookie), |old| {
            Ok((
                old.map(|mut s| {
                    s.last_seen = now;
                    if !s.clients.iter().any(|c| c == client) {
                        s.clients.push(client.to_string());
                    }
                    s
                }),
                (),
            ))
        })
    }

    /// Ends the session behind a cookie.
    pub fn end(&self, tenant: &str, cookie: &str) -> Result<Option<Session>> {
        self.store.remove(tenant, &secret::digest(cookie))
    }
}
