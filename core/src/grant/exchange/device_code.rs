//! device_code grant (RFC 8628 §3.4, §3.5): the device polls with its device code;
//! until the person decides, the answer is `authorization_pending` (or `slow_down`),
//! then the grant's tokens in a new family exactly once, or `access_denied` /
//! `expired_token`. The approved authorization is read and its tokens signed first;
//! then one transaction redeems it (re-checking it is still unredeemed), opens the
//! family, notes the access token and stores the refresh token. A poll that is
//! refused writes only its bookkeeping (last poll, interval), durably.

use crate::client::Client;
use crate::device::{DeviceAuthorization, Devices, Polled};
use crate::error::{DevicePoll, Error, Result};
use crate::grant::account_families::AccountFamily;
use crate::grant::family::{self, Family, RefreshToken};
use crate::grant::issue::{Issued, write_in};
use crate::grant::revoked::Revoked;
use crate::grant::tokens::Tokens;
use crate::secret;
use crate::store::Record as _;

/// The trees one device-code redemption writes together.
const TREES: &[&str] =
    &[DeviceAuthorization::TREE, Family::TREE, AccountFamily::TREE, RefreshToken::TREE, Revoked::TREE];
/// How often a poll is re-read when the person approved between its read and its
/// transaction (once is enough: an authorization is approved once).
const ATTEMPTS: usize = 3;

impl Tokens {
    /// The device's poll, durably: its bookkeeping, or its tokens.
    pub(crate) async fn device_code(&self, tenant: &str, client: &Client, device_code: &str) -> Result<Issued> {
        let issued = self.poll_device(tenant, client, device_code).await;
        self.durable(issued).await
    }

    /// [`Tokens::device_code`] before its commit.
    pub(crate) async fn poll_device(&self, tenant: &str, client: &Client, device_code: &str) -> Result<Issued> {
        let now = self.clock.now();
        let horizon = now + client.lifetimes.refresh_token.max(client.lifetimes.access_token);
        for _ in 0..ATTEMPTS {
            let expected = self.devices.peek_poll(tenant, &client.id, device_code, now).await?;
            let minted = match &expected {
                Some(redeemed) => {
                    let grant = redeemed.clone().into_grant(secret::token_of(16));
                    let minted = self.mint(tenant, client, &grant, &grant.scopes, now).await?;
                    Some((grant, minted))
                }
                None => None,
            };
            let polled = self
                .store
                .transaction(TREES, async |tx| {
                    let polled = Devices::poll_in(tx, tenant, &client.id, device_code, expected.as_ref(), now).await?;
                    if let (Polled::Redeemed, Some((grant, minted))) = (&polled, &minted) {
                        family::open_in(tx, tenant, &grant.family, &client.id, &grant.account_id, horizon).await?;
                        write_in(tx, tenant, grant, minted).await?;
                    }
                    Ok(polled)
                })
                .await?;
            match (polled, minted) {
                (Polled::Redeemed, Some((_, minted))) => return Ok(minted.issued),
                (Polled::Refused(e), _) => return Err(e),
                _ => continue,
            }
        }
        // Still changing after every attempt: the device polls again.
        Err(Error::DeviceFlow(DevicePoll::AuthorizationPending))
    }
}
