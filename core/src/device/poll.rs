//! The device's poll at the token endpoint (RFC 8628 §3.4, §3.5): one rule decides
//! what a poll comes to and what it writes (the interval bookkeeping, the redemption),
//! applied alone or inside the transaction that also issues the device's tokens.

use super::{AuthorizationState, DeviceAuthorization, Devices, Redeemed, SLOW_DOWN_STEP};
use crate::error::{DevicePoll, Error, Result};
use crate::secret;
use crate::store::{Tx, TxResult};

/// A poll's outcome: the record as the poll leaves it (`None`: unchanged) and the
/// answer: the redeemed authorization, or the refusal the device reads. Unknown
/// codes, codes of another client and spent codes are `invalid_grant`; an approved
/// authorization is redeemed exactly once.
fn step(
    old: Option<DeviceAuthorization>,
    client_id: &str,
    now: u64,
) -> (Option<DeviceAuthorization>, Result<Redeemed>) {
    let Some(mut rec) = old else { return (None, Err(Error::InvalidGrant)) };
    if rec.client_id != client_id || rec.state == AuthorizationState::Redeemed {
        return (None, Err(Error::InvalidGrant));
    }
    if now >= rec.valid_until {
        return (None, Err(Error::DeviceFlow(DevicePoll::ExpiredToken)));
    }
    match rec.state.clone() {
        AuthorizationState::Pending => {
            let too_soon = rec.last_poll.is_some_and(|t| now < t + rec.interval);
            rec.last_poll = Some(now);
            if too_soon {
                rec.interval += SLOW_DOWN_STEP;
                (Some(rec), Err(Error::DeviceFlow(DevicePoll::SlowDown)))
            } else {
                (Some(rec), Err(Error::DeviceFlow(DevicePoll::AuthorizationPending)))
            }
        }
        AuthorizationState::Denied => (None, Err(Error::DeviceFlow(DevicePoll::AccessDenied))),
        AuthorizationState::Approved(approval) => {
            let out = Redeemed { client_id: rec.client_id.clone(), scopes: rec.scopes.clone(), approval };
            rec.state = AuthorizationState::Redeemed;
            rec.last_poll = Some(now);
            (Some(rec), Ok(out))
        }
        AuthorizationState::Redeemed => (None, Err(Error::InvalidGrant)),
    }
}

/// A poll inside a transaction over [`DeviceAuthorization`].
pub(crate) enum Polled {
    /// The poll's bookkeeping is written; the device reads this refusal.
    Refused(Error),
    /// The authorization is redeemed (written): issue its tokens in the same transaction.
    Redeemed,
    /// It would redeem an authorization other than the one `expected` (approved since
    /// it was read): nothing is written; read it again and retry.
    Stale,
}

impl Devices {
    /// The device's poll (see [`step`]), written on its own.
    pub async fn poll(&self, tenant: &str, client_id: &str, device_code: &str, now: u64) -> Result<Redeemed> {
        self.store
            .update::<DeviceAuthorization, _>(tenant, &secret::digest(device_code), |old| Ok(step(old, client_id, now)))
            .await?
    }

    /// What a poll would redeem now, read without a write: the authorization the
    /// caller signs tokens for before [`Devices::poll_in`], or `None` if the poll
    /// would be refused.
    pub(crate) async fn peek_poll(
        &self,
        tenant: &str,
        client_id: &str,
        device_code: &str,
        now: u64,
    ) -> Result<Option<Redeemed>> {
        let rec = self.store.get::<DeviceAuthorization>(tenant, &secret::digest(device_code)).await?;
        Ok(step(rec, client_id, now).1.ok())
    }

    /// The device's poll inside a transaction over [`DeviceAuthorization`]: writes the
    /// poll's bookkeeping, or redeems the authorization if it is the one `expected`
    /// (the one the caller read with [`Devices::peek_poll`]); see [`Polled`].
    pub(crate) async fn poll_in(
        tx: &Tx<'_>,
        tenant: &str,
        client_id: &str,
        device_code: &str,
        expected: Option<&Redeemed>,
        now: u64,
    ) -> TxResult<Polled> {
        let key = secret::digest(device_code);
        let (new, out) = step(tx.get::<DeviceAuthorization>(tenant, &key).await?, client_id, now);
        let polled = match out {
            Ok(r) if expected.is_some_and(|e| e.approval == r.approval && e.scopes == r.scopes) => Polled::Redeemed,
            Ok(_) => return Ok(Polled::Stale),
            Err(e) => Polled::Refused(e),
        };
        if let Some(rec) = new {
            tx.put(tenant, &key, &rec).await?;
        }
        Ok(polled)
    }
}
