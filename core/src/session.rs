//! Browser sessions: the cookie value is a random token; the store keeps only its
//! digest. One session signs the person in to every client of the tenant (R7).
//! A session ends at its absolute lifetime or after its idle timeout (tenant
//! settings `sessions`, R29): a strong (acr 2) session left unused for 30 minutes
//! is gone. Each use moves `last_seen` on (written at most once a minute).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::Result;
use crate::secret;
use crate::settings::SessionSettings;
use crate::store::{GLOBAL, Record, Store, Tx, TxResult};
use crate::tenant::Tenant;

/// How stale `last_seen` may get before a use writes it again.
const TOUCH_EVERY: u64 = 60;

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
    /// Seconds the session may go unused; 0 = no idle timeout. Sessions made before
    /// idle timeouts existed have none.
    #[serde(default)]
    pub idle_timeout: u64,
}

impl Session {
    /// True while the session has neither expired nor been idle too long.
    pub fn alive(&self, now: u64) -> bool {
        now < self.expires_at && (self.idle_timeout == 0 || now < self.last_seen + self.idle_timeout)
    }
}

impl Record for Session {
    const TREE: &'static str = "sessions";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// [`Sessions::touch`] inside a transaction over [`Session`]: notes that `client`
/// got tokens in the session behind `cookie`; a session no longer alive is left as is.
pub(crate) async fn touch_in(tx: &Tx<'_>, tenant: &str, cookie: &str, client: &str, now: u64) -> TxResult<()> {
    let k = secret::digest(cookie);
    match tx.get::<Session>(tenant, &k).await? {
        Some(mut s) if s.alive(now) => {
            s.last_seen = now;
            if !s.clients.iter().any(|c| c == client) {
                s.clients.push(client.to_string());
            }
            tx.put(tenant, &k, &s).await
        }
        _ => Ok(()),
    }
}

/// The trees a session start or end writes.
pub const TREES: &[&str] = &[Session::TREE, AccountSession::TREE];

/// Stores `session` (from [`Sessions::prepare`]) behind `cookie`, with its account
/// index, inside a transaction over [`TREES`].
pub async fn start_in(tx: &Tx<'_>, tenant: &str, cookie: &str, session: &Session) -> TxResult<()> {
    let key = secret::digest(cookie);
    let index = AccountSession { key: key.clone(), expires_at: session.expires_at };
    tx.put(tenant, &key, session).await?;
    tx.put(tenant, &format!("{}/{}", session.account_id, session.sid), &index).await
}

/// Ends the session behind `cookie` if it is still alive at `now`, with its
/// account index, inside a transaction over [`TREES`]; returns it.
pub async fn end_live_in(tx: &Tx<'_>, tenant: &str, cookie: &str, now: u64) -> TxResult<Option<Session>> {
    let key = secret::digest(cookie);
    let Some(s) = tx.get::<Session>(tenant, &key).await?.filter(|s| s.alive(now)) else { return Ok(None) };
    tx.remove::<Session>(tenant, &key).await?;
    tx.remove::<AccountSession>(tenant, &format!("{}/{}", s.account_id, s.sid)).await?;
    Ok(Some(s))
}

/// Index: account -> its sessions, under `{account}/{sid}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountSession {
    /// Store key (cookie digest) of the session.
    pub key: String,
    pub expires_at: u64,
}

impl Record for AccountSession {
    const TREE: &'static str = "account_sessions";
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
    pub async fn start(
        &self,
        tenant: &str,
        account_id: &str,
        amr: Vec<String>,
        origin: &Origin,
    ) -> Result<(String, Session)> {
        let rules = self.store.get::<Tenant>(GLOBAL, tenant).await?.map(|t| t.settings.sessions).unwrap_or_default();
        let (cookie, session) = self.prepare(account_id, amr, origin, &rules);
        self.store.transaction(TREES, async |tx| start_in(tx, tenant, &cookie, &session).await).await?;
        Ok((cookie, session))
    }

    /// A new session for `account_id` under the tenant's session `rules`, not
    /// stored yet ([`start_in`] stores it): the cookie value and the record.
    pub fn prepare(
        &self,
        account_id: &str,
        amr: Vec<String>,
        origin: &Origin,
        rules: &SessionSettings,
    ) -> (String, Session) {
        let now = self.clock.now();
        let cookie = secret::token();
        let acr = crate::signin::level::acr(&amr).to_string();
        let lifetime = match rules.lifetime {
            0 => self.ttl,
            l => l.min(self.ttl),
        };
        let idle_timeout = if acr == "2" { rules.idle_timeout_strong } else { rules.idle_timeout };
        let session = Session {
            sid: secret::token_of(16),
            account_id: account_id.to_string(),
            auth_time: now,
            amr,
            acr,
            created_at: now,
            last_seen: now,
            expires_at: now + lifetime,
            idle_timeout,
            user_agent: origin.user_agent.chars().take(300).collect(),
            ip: origin.ip.clone(),
            clients: Vec::new(),
        };
        (cookie, session)
    }

    /// The live session behind a cookie value: not past its lifetime and not idle
    /// for longer than its idle timeout. A use counts as activity (`last_seen`).
    pub async fn get(&self, tenant: &str, cookie: &str) -> Result<Option<Session>> {
        let now = self.clock.now();
        let key = secret::digest(cookie);
        let Some(mut session) = self.store.get::<Session>(tenant, &key).await?.filter(|s| s.alive(now)) else {
            return Ok(None);
        };
        if now >= session.last_seen + TOUCH_EVERY {
            session.last_seen = now;
            self.store
                .update::<Session, _>(tenant, &key, |old| {
                    Ok((
                        old.filter(|s| s.alive(now) && s.last_seen < now).map(|mut s| {
                            s.last_seen = now;
                            s
                        }),
                        (),
                    ))
                })
                .await?;
        }
        Ok(Some(session))
    }

    /// Notes that `client` got tokens in this session, and when it was last used.
    pub async fn touch(&self, tenant: &str, cookie: &str, client: &str) -> Result<()> {
        let now = self.clock.now();
        self.store
            .update::<Session, _>(tenant, &secret::digest(cookie), |old| {
                Ok((
                    old.filter(|s| s.alive(now)).map(|mut s| {
                        s.last_seen = now;
                        if !s.clients.iter().any(|c| c == client) {
                            s.clients.push(client.to_string());
                        }
                        s
                    }),
                    (),
                ))
            })
            .await
    }

    /// Ends the session behind a cookie.
    pub async fn end(&self, tenant: &str, cookie: &str) -> Result<Option<Session>> {
        let ended = self.store.remove::<Session>(tenant, &secret::digest(cookie)).await?;
        if let Some(s) = &ended {
            self.store.remove::<AccountSession>(tenant, &format!("{}/{}", s.account_id, s.sid)).await?;
        }
        Ok(ended)
    }

    /// Signs out: ends the session behind a cookie, durable before it returns.
    pub async fn sign_out(&self, tenant: &str, cookie: &str) -> Result<Option<Session>> {
        let ended = self.end(tenant, cookie).await?;
        self.store.commit().await?;
        Ok(ended)
    }

    /// The account's live sessions, newest first (R29).
    pub async fn list(&self, tenant: &str, account_id: &str) -> Result<Vec<Session>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for (_, ix) in self.store.scan::<AccountSession>(tenant, &format!("{account_id}/")).await? {
            if let Some(s) = self.store.get::<Session>(tenant, &ix.key).await?.filter(|s| s.alive(now)) {
                out.push(s);
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        Ok(out)
    }

    /// Ends one session of the account by its sid; false if there was none.
    pub async fn end_sid(&self, tenant: &str, account_id: &str, sid: &str) -> Result<bool> {
        let id = format!("{account_id}/{sid}");
        match self.store.remove::<AccountSession>(tenant, &id).await? {
            Some(ix) => Ok(self.store.remove::<Session>(tenant, &ix.key).await?.is_some()),
            None => Ok(false),
        }
    }

    /// Ends every session of the account except `keep` (a sid); returns how many.
    pub async fn end_all(&self, tenant: &str, account_id: &str, keep: Option<&str>) -> Result<usize> {
        let mut n = 0;
        for (id, _) in self.store.scan::<AccountSession>(tenant, &format!("{account_id}/")).await? {
            let sid = &id[account_id.len() + 1..];
            if Some(sid) != keep && self.end_sid(tenant, account_id, sid).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Signs one device of the account out by its sid (R29), durably; another
    /// account's sid ends nothing.
    pub async fn sign_out_device(&self, tenant: &str, account_id: &str, sid: &str) -> Result<bool> {
        let ended = self.end_sid(tenant, account_id, sid).await?;
        self.store.commit().await?;
        Ok(ended)
    }

    /// Signs every device of the account out but `keep` (a sid; R23, R29), durably;
    /// returns how many.
    pub async fn sign_out_others(&self, tenant: &str, account_id: &str, keep: Option<&str>) -> Result<usize> {
        let ended = self.end_all(tenant, account_id, keep).await?;
        self.store.commit().await?;
        Ok(ended)
    }
}
