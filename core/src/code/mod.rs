//! One-time codes (R37): six digits, a lifetime per tenant, single use, a few wrong
//! tries, a newer code supersedes the older one, stored as a salted digest, bound to
//! a purpose. Sending is rate-limited per destination and per client IP.

pub mod deliveries;
mod limits;
pub mod links;
pub mod outbox;

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::secret;
use crate::settings::CodeSettings;
use crate::store::{Record, Store};
pub use deliveries::Deliveries;
pub use outbox::{Channel, Destination, Message, MessageKind, Notice, Outbox};

/// What a code is for. A code for one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Register,
    SignIn,
    Recover,
    /// Prove the current mobile/email before changing it.
    VerifyOldChannel,
    /// Prove the new mobile/email being added.
    VerifyNewChannel,
    /// Prove identity before a sensitive change (password).
    VerifyIdentity,
    /// A second factor after the password (R20).
    SecondFactor,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::Register,
        Purpose::SignIn,
        Purpose::Recover,
        Purpose::VerifyOldChannel,
        Purpose::VerifyNewChannel,
        Purpose::VerifyIdentity,
        Purpose::SecondFactor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::Recover => "recover",
            Purpose::VerifyOldChannel => "verify_old_channel",
            Purpose::VerifyNewChannel => "verify_new_channel",
            Purpose::VerifyIdentity => "verify_identity",
            Purpose::SecondFactor => "second_factor",
        }
    }

    /// Parses a purpose; unknown values are `unknown_purpose`.
    pub fn parse(s: &str) -> Result<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or(Error::UnknownPurpose)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeRecord {
    salt: String,
    digest: String,
    attempts: u32,
    expires_at: u64,
}

impl Record for CodeRecord {
    const TREE: &'static str = "otp";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

fn record_id(purpose: Purpose, address: &str) -> String {
    format!("{}|{address}", purpose.as_str())
}

/// What the sender of a code is told.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds until another code may be asked for.
    pub retry_after: u64,
}

/// Issuing, delivering and checking codes.
pub struct Codes {
    store: Store,
    clock: Arc<dyn Clock>,
    outbox: Arc<dyn Outbox>,
    deliveries: Deliveries,
}

impl Codes {
    pub fn new(store: Store, clock: Arc<dyn Clock>, outbox: Arc<dyn Outbox>) -> Self {
        Codes { store, clock, outbox, deliveries: Deliveries::default() }
    }

    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.outbox
    }

    /// The deliveries running in the background (to wait for them at shutdown).
    pub fn deliveries(&self) -> &Deliveries {
        &self.deliveries
    }

    /// Delivers without making the caller wait, so an answer takes the same time
    /// whether or not a message was sent (R36). Failures are logged as `what`.
    pub fn deliver_in_background(&self, message: Message, what: &'static str) {
        self.deliveries.spawn(self.outbox.clone(), message, what);
    }

    /// Counts a send against the limits of `to` and `ip`; `rate_limited` with
    /// `retry_after` if a limit is reached. Callers that must not reveal whether an
    /// account exists (R36) call this even when they will send nothing.
    pub async fn admit(&self, tenant: &str, settings: &CodeSettings, to: &Destination, ip: &str) -> Result<Sent> {
        limits::admit(&self.store, tenant, settings, to, ip, self.clock.now()).await?;
        Ok(Sent { expires_in: settings.lifetime, retry_after: settings.resend_cooldown })
    }

    /// Makes a new code for `purpose` and `to` (superseding any older one) and returns
    /// the message that carries it. The caller delivers it (see `send`).
    pub async fn issue(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        purpose: Purpose,
        to: &Destination,
        locale: &str,
    ) -> Result<Message> {
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let salt = secret::token_of(12);
        let rec = CodeRecord {
            digest: secret::salted_digest(&salt, &code),
            salt,
            attempts: 0,
            expires_at: self.clock.now() + settings.lifetime,
        };
        self.store.put(tenant, &record_id(purpose, &to.address), &rec).await?;
        Ok(Message {
            tenant: tenant.to_string(),
            to: to.clone(),
            locale: locale.to_string(),
            kind: MessageKind::Code { purpose, code, minutes: settings.lifetime.div_ceil(60) },
        })
    }

    /// Admits, issues and delivers a code.
    pub async fn send(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        purpose: Purpose,
        to: &Destination,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let sent = self.admit(tenant, settings, to, ip).await?;
        let message = self.issue(tenant, settings, purpose, to, locale).await?;
        self.store.commit().await?;
        self.outbox.deliver(&message).await?;
        Ok(sent)
    }

    /// Checks a code and consumes it on success. A wrong code counts a try; after
    /// `max_attempts` wrong tries the code is dead, even for the right value.
    pub async fn verify(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        purpose: Purpose,
        address: &str,
        code: &str,
    ) -> Result<()> {
        self.verify_all(tenant, settings, &[(purpose, address, code)]).await
    }

    /// Checks a code without using it up, before work that may still refuse (a
    /// registration's identifier checks, a new password's history): a wrong code
    /// counts a try exactly as in `verify`, which must follow to consume it.
    pub async fn check(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        purpose: Purpose,
        address: &str,
        code: &str,
    ) -> Result<()> {
        self.judge(tenant, settings, &[(purpose, address, code)], false).await
    }

    /// Checks several codes together (a channel change proves the old and the new
    /// value): either every code is right and all are consumed, or none is consumed
    /// and each wrong one counts a try.
    pub async fn verify_all(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        checks: &[(Purpose, &str, &str)],
    ) -> Result<()> {
        self.judge(tenant, settings, checks, true).await
    }

    async fn judge(
        &self,
        tenant: &str,
        settings: &CodeSettings,
        checks: &[(Purpose, &str, &str)],
        consume: bool,
    ) -> Result<()> {
        let now = self.clock.now();
        let max = settings.max_attempts;
        let outcome = self
            .store
            .transaction(&[CodeRecord::TREE], async |tx| {
                let mut first_error = None;
                let mut records = Vec::with_capacity(checks.len());
                for (purpose, address, code) in checks {
                    let id = record_id(*purpose, address);
                    let rec = tx.get::<CodeRecord>(tenant, &id).await?;
                    let error = match &rec {
                        None => Some(Error::CodeInvalid),
                        Some(r) if r.expires_at <= now => Some(Error::CodeExpired),
                        Some(r) if r.attempts >= max => Some(Error::CodeAttemptsExceeded),
                        Some(r) if !code_matches(r, code) => Some(Error::CodeInvalid),
                        Some(_) => None,
                    };
                    if let (Some(Error::CodeInvalid), Some(mut r)) = (&error, rec.clone()) {
                        r.attempts += 1;
                        tx.put(tenant, &id, &r).await?;
                    }
                    if first_error.is_none() {
                        first_error = error;
                    }
                    records.push((id, rec));
                }
                if first_error.is_none() && consume {
                    for (id, rec) in records {
                        if let Some(mut r) = rec {
                            // Consumed: single use; the sweeper removes it.
                            r.attempts = u32::MAX;
                            tx.put(tenant, &id, &r).await?;
                        }
                    }
                }
                Ok(first_error)
            })
            .await?;
        match outcome {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

fn code_matches(rec: &CodeRecord, code: &str) -> bool {
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    well_formed && secret::eq(&secret::salted_digest(&rec.salt, code), &rec.digest)
}

#[cfg(test)]
mod tests;
