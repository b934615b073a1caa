//! Links as an alternative to typing a code (R5 security email, R34 recovery): a
//! random token in a URL, stored as its digest, single use, bound to a purpose, an
//! account and the address it was sent to.

use serde::{Deserialize, Serialize};

use crate::code::{Codes, Destination, Message, MessageKind, Purpose};
use crate::error::{Error, Result};
use crate::secret;
use crate::store::{Record, Store};

/// A link sent by mail, stored under the digest of its token until used or expired.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    purpose: Purpose,
    account_id: String,
    address: String,
    expires_at: u64,
}

impl Record for LinkRecord {
    const TREE: &'static str = "links";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// What a followed link proves.
#[derive(Debug, Clone)]
pub struct Followed {
    pub account_id: String,
    pub address: String,
}

impl Codes {
    /// Makes a link token for `purpose` and returns the message that carries it:
    /// `{url}?token=...`, valid `lifetime` seconds.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_link(
        &self,
        tenant: &str,
        purpose: Purpose,
        account_id: &str,
        to: &Destination,
        url: &str,
        lifetime: u64,
        locale: &str,
    ) -> Result<Message> {
        let token = secret::token();
        let rec = LinkRecord {
            purpose,
            account_id: account_id.to_string(),
            address: to.address.clone(),
            expires_at: self.clock.now() + lifetime,
        };
        self.store.put(tenant, &secret::digest(&token), &rec).await?;
        Ok(Message {
            tenant: tenant.to_string(),
            to: to.clone(),
            locale: locale.to_string(),
            kind: MessageKind::Link { purpose, url: format!("{url}?token={token}"), hours: lifetime.div_ceil(3600) },
        })
    }

    /// Looks at a link without using it up (to show the page it opens).
    pub async fn peek_link(&self, tenant: &str, purpose: Purpose, token: &str) -> Result<Followed> {
        let rec = self.store.get_live::<LinkRecord>(tenant, &link_id(token), self.clock.now()).await?;
        match rec {
            Some(r) if r.purpose == purpose => Ok(Followed { account_id: r.account_id, address: r.address }),
            _ => Err(Error::CodeInvalid),
        }
    }

    /// Uses a link up: single use, purpose-bound, not expired.
    pub async fn follow_link(&self, tenant: &str, purpose: Purpose, token: &str) -> Result<Followed> {
        let now = self.clock.now();
        let taken = take(&self.store, tenant, &link_id(token)).await?;
        match taken {
            Some(r) if r.purpose == purpose && r.expires_at > now => {
                Ok(Followed { account_id: r.account_id, address: r.address })
            }
            Some(r) if r.purpose == purpose => Err(Error::CodeExpired),
            _ => Err(Error::CodeInvalid),
        }
    }
}

fn link_id(token: &str) -> String {
    if token.len() > 64 { String::new() } else { secret::digest(token) }
}

async fn take(store: &Store, tenant: &str, id: &str) -> Result<Option<LinkRecord>> {
    if id.is_empty() {
        return Ok(None);
    }
    store.remove::<LinkRecord>(tenant, id).await
}
