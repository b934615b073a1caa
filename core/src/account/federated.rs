//! Accounts and third-party sign-in (R17, R28): an account created just in time for
//! an upstream subject (in one transaction with its link, so nothing is left half
//! made), linking after proof, and unlinking that never removes the last way in.

use crate::account::{Account, Accounts, Binding, Kind, Roles, insert_in};
use crate::code::Notice;
use crate::error::{Error, Refusal, Resource, Result};
use crate::federation::UpstreamIdentity;
use crate::federation::link::{self, AccountLink, Link};
use crate::identifier::{parse_email, parse_phone};
use crate::store::Record;

const TREES_WITH_LINKS: &[&str] = &[
    Account::TREE,
    crate::account::IdentifierIndex::TREE,
    crate::account::BindingIndex::TREE,
    crate::account::BindingCount::TREE,
    Link::TREE,
    AccountLink::TREE,
];

impl Accounts {
    /// Creates an account for a first upstream sign-in, linked to its subject. The
    /// upstream's email and mobile are bound (verified, every role) only if the
    /// upstream verified them and no account holds them; the account has no password.
    pub async fn create_federated(&self, tenant: &str, identity: &UpstreamIdentity) -> Result<Account> {
        let mut bindings = Vec::new();
        let offered = [
            (
                Kind::Email,
                identity.email.as_deref().filter(|_| identity.email_verified).and_then(|e| parse_email(e).ok()),
            ),
            (
                Kind::Mobile,
                identity.phone.as_deref().filter(|_| identity.phone_verified).and_then(|p| parse_phone(p).ok()),
            ),
        ];
        for (kind, value) in offered {
            let Some(value) = value else { continue };
            let taken = self.find_login(tenant, &kind.identifier(&value)).await.map_or(true, |a| a.is_some())
                || !self.bound_to(tenant, kind, &value).await?.is_empty();
            if !taken {
                bindings.push(Binding { kind, value, verified: true, roles: Roles::ALL });
            }
        }
        let mut account = self.blank(None, bindings, String::new());
        account.password = None;
        let link = Link::new(&account.id, identity, self.clock.now())?;
        self.store
            .transaction(TREES_WITH_LINKS, async |tx| {
                insert_in(tx, tenant, &account).await?;
                link::put_in(tx, tenant, &link).await
            })
            .await?;
        Ok(account)
    }

    /// Links an upstream subject to an account whose holder proved it is theirs, and
    /// tells the account's contacts (R38, issue 10 item 4): the link signs in from now
    /// on. `upstream_name` is how the notice names the upstream.
    pub async fn link_federated(
        &self,
        tenant: &str,
        account_id: &str,
        identity: &UpstreamIdentity,
        upstream_name: &str,
        locale: &str,
    ) -> Result<Link> {
        let account = self.get(tenant, account_id).await?;
        let link = Link::new(account_id, identity, self.clock.now())?;
        link::link(&self.store, tenant, &link).await?;
        self.store.commit().await?;
        let notice = Notice::UpstreamLinked { upstream: upstream_name.to_string() };
        self.notify(tenant, &account, notice, locale).await;
        Ok(link)
    }

    /// Unlinks one upstream subject, unless it is the account's last way to sign in
    /// (no password, no passkey, no other link: R28).
    pub async fn unlink_federated(
        &self,
        tenant: &str,
        account_id: &str,
        upstream: &str,
        subject: &str,
        passkeys: usize,
    ) -> Result<()> {
        let account = self.get(tenant, account_id).await?;
        let links = link::list(&self.store, tenant, account_id).await?;
        if !links.iter().any(|l| l.upstream == upstream && l.subject == subject) {
            return Err(Error::NotFound(Resource::LinkedAccount));
        }
        let other_ways = usize::from(account.password.is_some()) + passkeys + links.len() - 1;
        if other_ways == 0 {
            return Err(Error::Refused(Refusal::LastSignInMethod));
        }
        link::remove(&self.store, tenant, account_id, upstream, subject).await?;
        Ok(())
    }

    /// The account's linked third-party accounts.
    pub async fn links(&self, tenant: &str, account_id: &str) -> Result<Vec<Link>> {
        link::list(&self.store, tenant, account_id).await
    }
}
