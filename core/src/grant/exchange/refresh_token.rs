//! refresh_token grant (RFC 6749 §6): rotate the refresh token and issue fresh
//! tokens, optionally narrowed to a `scope` (this issue only; the next refresh token
//! carries the whole grant). The token is read and the new tokens signed first; then
//! one transaction marks it used (re-checking it was not rotated meanwhile), notes the
//! access token on the family and stores the next refresh token. A reused token
//! revokes its family before the `invalid_grant`; a wider scope is `invalid_scope` and
//! leaves the token usable.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::grant::family::{self, RefreshRefused, Rotation};
use crate::grant::issue::write_in;
use crate::grant::tokens::Tokens;
use crate::grant::{Exchanged, OAuthCode, OAuthError};
use crate::store::abort;

impl Tokens {
    /// Rotates a refresh token and issues fresh tokens, durably.
    pub(crate) async fn refresh(
        &self,
        tenant: &str,
        client: &Client,
        token: &str,
        scope: Option<&[String]>,
    ) -> Result<Exchanged> {
        let issued = self.rotate_refresh(tenant, client, token, scope).await;
        self.durable(issued).await
    }

    /// [`Tokens::refresh`] before its commit.
    pub(crate) async fn rotate_refresh(
        &self,
        tenant: &str,
        client: &Client,
        token: &str,
        scope: Option<&[String]>,
    ) -> Result<Exchanged> {
        let now = self.clock.now();
        let minted = match family::peek_rotation(&self.store, tenant, &client.id, token, scope, now).await? {
            Rotation::Fresh(r) => Some(self.mint(tenant, client, &r.grant, &r.scopes, now).await?),
            Rotation::Reused(_) => None,
            Rotation::Refused(why) => return refused(why),
        };
        let outcome = self
            .store
            .transaction(family::ISSUE_TREES, async |tx| {
                let rotation = family::rotate_in(tx, tenant, &client.id, token, scope, now).await?;
                if let Rotation::Fresh(r) = &rotation {
                    // Read as used or refused, now fresh: the store changed under us.
                    let Some(minted) = &minted else { return abort(Error::InvalidGrant) };
                    write_in(tx, tenant, &r.grant, minted).await?;
                }
                Ok(rotation)
            })
            .await?;
        match (outcome, minted) {
            (Rotation::Fresh(_), Some(minted)) => Ok(Ok(minted.issued)),
            (Rotation::Reused(_), _) => {
                tracing::warn!(tenant, client_id = client.id, "refresh token reuse: family revoked");
                refused(RefreshRefused::Reused)
            }
            (Rotation::Refused(why), _) => refused(why),
            (Rotation::Fresh(_), None) => refused(RefreshRefused::Invalid),
        }
    }
}

/// The answer to a refused refresh: `invalid_scope` for a wider scope (an OAuth
/// refusal), `invalid_grant` otherwise.
fn refused(why: RefreshRefused) -> Result<Exchanged> {
    match why {
        RefreshRefused::WiderScope => {
            Ok(Err(OAuthError::new(OAuthCode::InvalidScope, "a refresh cannot widen the scope")))
        }
        RefreshRefused::Invalid | RefreshRefused::Reused => Err(Error::InvalidGrant),
    }
}
