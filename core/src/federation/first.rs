//! A sign-in with an upstream subject this tenant has not seen (R17): it may create
//! an account, or link to an existing one whose login email or mobile equals what
//! the upstream verified, once the person proves that account is theirs. An email
//! the upstream did not verify never leads to a link.

use crate::account::{Accounts, Kind};
use crate::error::{Error, Result};
use crate::federation::UpstreamIdentity;
use crate::federation::link::{self, Link};
use crate::identifier::{Identifier, parse_email, parse_phone};

/// An existing account the upstream's verified email or mobile points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub account_id: String,
    pub kind: Kind,
    pub value: String,
}

/// What a callback from an upstream leads to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The subject is linked: sign in to that account.
    Linked(Link),
    /// First time: create an account, or link one (to `candidate` by a code).
    Unknown { candidate: Option<Match> },
}

impl Accounts {
    /// Looks the upstream subject up.
    pub async fn federated(&self, tenant: &str, identity: &UpstreamIdentity) -> Result<Outcome> {
        if let Some(l) = link::find(&self.store, tenant, &identity.upstream, &identity.subject).await? {
            return Ok(Outcome::Linked(l));
        }
        Ok(Outcome::Unknown { candidate: self.candidate(tenant, identity).await? })
    }

    /// The account whose login email (or mobile) the upstream verified, if exactly one.
    async fn candidate(&self, tenant: &str, identity: &UpstreamIdentity) -> Result<Option<Match>> {
        let tries = [
            (
                Kind::Email,
                identity.email.as_deref().filter(|_| identity.email_verified).and_then(|e| parse_email(e).ok()),
            ),
            (
                Kind::Mobile,
                identity.phone.as_deref().filter(|_| identity.phone_verified).and_then(|p| parse_phone(p).ok()),
            ),
        ];
        for (kind, value) in tries {
            let Some(value) = value else { continue };
            let found = match self.find_login(tenant, &kind_identifier(kind, &value)).await {
                Ok(found) => found,
                Err(Error::SeveralAccounts(_)) => None,
                Err(e) => return Err(e),
            };
            if let Some(a) = found {
                return Ok(Some(Match { account_id: a.id, kind, value }));
            }
        }
        Ok(None)
    }
}

fn kind_identifier(kind: Kind, value: &str) -> Identifier {
    match kind {
        Kind::Email => Identifier::Email(value.to_string()),
        Kind::Mobile => Identifier::Phone(value.to_string()),
    }
}
