//! authorization_code grant (RFC 6749 §4.1.3): redeem the code (single use, PKCE,
//! bound redirect URI) and issue the grant's tokens. The code is read and its tokens
//! signed first; then one transaction takes the code (re-checking it is still
//! unredeemed, so of parallel redemptions exactly one wins), notes the access token
//! on the family and stores the refresh token. A second redemption revokes what the
//! first issued, in its own transaction, before the `invalid_grant`.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::grant::account_families::AccountFamily;
use crate::grant::code::{self, CodeRecord, Redemption};
use crate::grant::family::{Family, RefreshToken};
use crate::grant::issue::{Issued, write_in};
use crate::grant::revoked::Revoked;
use crate::grant::tokens::Tokens;
use crate::store::{Record as _, abort};

/// The trees one code exchange writes together.
const TREES: &[&str] = &[CodeRecord::TREE, Family::TREE, AccountFamily::TREE, RefreshToken::TREE, Revoked::TREE];

impl Tokens {
    /// Redeems an authorization code and issues the grant's tokens, durably.
    pub(crate) async fn exchange_code(
        &self,
        tenant: &str,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued> {
        let issued = self.redeem_code(tenant, client, code, redirect_uri, verifier).await;
        self.durable(issued).await
    }

    /// [`Tokens::exchange_code`] before its commit.
    pub(crate) async fn redeem_code(
        &self,
        tenant: &str,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued> {
        let now = self.clock.now();
        let minted = match code::peek(&self.store, tenant, &client.id, code, redirect_uri, verifier, now).await? {
            Redemption::Fresh(grant) => Some(self.mint(tenant, client, &grant, &grant.scopes, now).await?),
            Redemption::Reused(_) => None,
            Redemption::Invalid => return Err(Error::InvalidGrant),
        };
        let outcome = self
            .store
            .transaction(TREES, async |tx| {
                let redemption = code::redeem_in(tx, tenant, &client.id, code, redirect_uri, verifier, now).await?;
                if let Redemption::Fresh(grant) = &redemption {
                    // Read as used or invalid, now fresh: the store changed under us.
                    let Some(minted) = &minted else { return abort(Error::InvalidGrant) };
                    write_in(tx, tenant, grant, minted).await?;
                }
                Ok(redemption)
            })
            .await?;
        match (outcome, minted) {
            (Redemption::Fresh(_), Some(minted)) => Ok(minted.issued),
            (Redemption::Reused(_), _) => {
                tracing::warn!(tenant, client_id = client.id, "authorization code reuse: tokens revoked");
                Err(Error::InvalidGrant)
            }
            _ => Err(Error::InvalidGrant),
        }
    }
}
