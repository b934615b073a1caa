//! Accounts: an account name, mobile numbers and emails with roles (login, recovery,
//! contact; R6, R26), a password with history. A login identifier belongs to one
//! account per tenant; that is enforced inside one store transaction.

pub mod channels;
pub mod federated;
mod guarded;
pub mod in_tenant;
mod index;
pub mod passkey_sign_in;
pub mod password;
pub mod reauth;
pub mod recovery;
pub mod registration;
pub mod second_factor;
pub mod security;
pub mod signin;

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::captcha::Captchas;
use crate::clock::Clock;
use crate::code::{Codes, Notice};
use crate::credential::password::Passwords;
use crate::error::{Error, Field, Resource, Result};
use crate::identifier::{ACCOUNT_ID_LEN, Identifier, parse_email, parse_name, parse_phone};
use crate::policy::PolicyHost;
use crate::signin::attempts::Attempts;
use crate::store::{Record, Store, Tx, TxResult, abort};
pub use index::{BindingCount, BindingIndex, IdentifierIndex};

/// Mobile number or email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Mobile,
    Email,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mobile => "mobile",
            Kind::Email => "email",
        }
    }

    /// The kind named by `as_str` (`mobile`, `email`).
    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Mobile, Kind::Email].into_iter().find(|k| k.as_str() == name)
    }

    /// Normalizes a value of this kind (E.164, lowercased email).
    pub fn parse(self, value: &str) -> Result<String> {
        match self {
            Kind::Mobile => parse_phone(value),
            Kind::Email => parse_email(value),
        }
    }

    fn identifier(self, value: &str) -> Identifier {
        match self {
            Kind::Mobile => Identifier::Phone(value.to_string()),
            Kind::Email => Identifier::Email(value.to_string()),
        }
    }
}

/// What a bound mobile or email is used for (R26). By default one value holds all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    /// Signs the account in.
    pub login: bool,
    /// Receives recovery codes.
    pub recovery: bool,
    /// Receives security notices.
    pub contact: bool,
}

impl Roles {
    pub const ALL: Roles = Roles { login: true, recovery: true, contact: true };
    /// A security phone or email that does not sign in.
    pub const SECURITY: Roles = Roles { login: false, recovery: true, contact: true };
    /// Receives notices only: what an account without any identity method may add
    /// (see `reauth`).
    pub const CONTACT: Roles = Roles { login: false, recovery: false, contact: true };
}

/// A mobile number or email bound to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub kind: Kind,
    pub value: String,
    pub verified: bool,
    pub roles: Roles,
}

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// 16 digits, never reused.
    pub id: String,
    pub name: Option<String>,
    pub bindings: Vec<Binding>,
    /// Argon2id PHC string.
    pub password: Option<String>,
    /// Earlier passwords (PHC), newest first, for the history rule (R4).
    #[serde(default)]
    pub password_history: Vec<String>,
    pub password_changed_at: u64,
    pub created_at: u64,
    pub updated_at: u64,
    /// Notices shown at the next sign-in (R9).
    #[serde(default)]
    pub pending_notices: Vec<Notice>,
    /// Digests of device cookies this account signed in from (new-device notices).
    #[serde(default)]
    pub known_devices: Vec<String>,
    /// The person turned 2-step verification on (R20).
    #[serde(default)]
    pub two_step: bool,
    /// Bumped by a password change; remembered devices of an older epoch are forgotten.
    #[serde(default)]
    pub security_epoch: u32,
}

impl Record for Account {
    const TREE: &'static str = "accounts";
    const VERSION: u32 = 2;
}

impl Account {
    /// The first bound value of `kind` with the role `pick` selects.
    pub fn find(&self, kind: Kind, pick: impl Fn(&Roles) -> bool) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.kind == kind && pick(&b.roles))
    }

    /// The account's main email: the login one, else any.
    pub fn email(&self) -> Option<&Binding> {
        self.find(Kind::Email, |r| r.login).or_else(|| self.find(Kind::Email, |_| true))
    }

    /// The account's main mobile: the login one, else any.
    pub fn mobile(&self) -> Option<&Binding> {
        self.find(Kind::Mobile, |r| r.login).or_else(|| self.find(Kind::Mobile, |_| true))
    }

    /// Values that receive security notices.
    pub fn contacts(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(|b| b.roles.contact)
    }
}

/// Masks a mobile or email for display (R22): `+86 138****8000`, `a***@example.com`.
pub fn mask(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Mobile => {
            let n = value.chars().count();
            if n <= 7 {
                return "*".repeat(n);
            }
            let head: String = value.chars().take(n - 8).collect();
            let tail: String = value.chars().skip(n - 4).collect();
            format!("{head}****{tail}")
        }
        Kind::Email => match value.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        },
    }
}

/// What is needed to create an account (admin API, CLI).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub password: String,
}

/// Account services. The sub-modules add registration, sign-in and password changes.
pub struct Accounts {
    pub(crate) store: Store,
    clock: Arc<dyn Clock>,
    passwords: Passwords,
    codes: Arc<Codes>,
    policy: Arc<PolicyHost>,
    /// Failed sign-ins (R19).
    attempts: Attempts,
    /// CAPTCHA challenges (R19).
    captchas: Captchas,
}

pub(crate) const TREES: &[&str] = &[Account::TREE, IdentifierIndex::TREE, BindingIndex::TREE, BindingCount::TREE];

/// Inserts a new account and its indexes inside a transaction over `TREES`.
async fn insert_in(tx: &crate::store::Tx<'_>, tenant: &str, account: &Account) -> crate::store::TxResult<()> {
    if tx.get::<Account>(tenant, &account.id).await?.is_some() {
        return abort(Error::Storage("account id collision".into()));
    }
    if let Some(name) = &account.name {
        index::claim_login(tx, tenant, &Identifier::Name(name.clone()), &account.id).await?;
    }
    for b in &account.bindings {
        index::bind(tx, tenant, &account.id, b).await?;
    }
    tx.put(tenant, &account.id, account).await
}

fn new_account_id() -> String {
    let mut rng = rand::rngs::OsRng;
    let first = rng.gen_range(1..=9u8);
    let rest: String = (1..ACCOUNT_ID_LEN).map(|_| char::from(b'0' + rng.gen_range(0..=9u8))).collect();
    format!("{first}{rest}")
}

impl Accounts {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        passwords: Passwords,
        codes: Arc<Codes>,
        policy: Arc<PolicyHost>,
    ) -> Self {
        let attempts = Attempts::new(store.clone(), clock.clone());
        let captchas = Captchas::new(store.clone(), clock.clone());
        Accounts { store, clock, passwords, codes, policy, attempts, captchas }
    }

    /// Failed sign-ins per account and IP (R19).
    pub fn attempts(&self) -> &Attempts {
        &self.attempts
    }

    /// The tenant's CAPTCHA challenges (R19).
    pub fn captchas(&self) -> &Captchas {
        &self.captchas
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    fn blank(&self, name: Option<String>, bindings: Vec<Binding>, phc: String) -> Account {
        let now = self.clock.now();
        Account {
            id: new_account_id(),
            name,
            bindings,
            password: Some(phc),
            password_history: Vec::new(),
            password_changed_at: now,
            created_at: now,
            updated_at: now,
            pending_notices: Vec::new(),
            known_devices: Vec::new(),
            two_step: false,
            security_epoch: 0,
        }
    }

    /// Inserts a new account and its indexes in one transaction. Every login role
    /// must be free; `identifier_taken` otherwise.
    async fn insert(&self, tenant: &str, account: &Account) -> Result<()> {
        self.store.transaction(TREES, async |tx| insert_in(tx, tenant, account).await).await
    }

    /// Creates an account with at least one identifier and a password (admin API).
    /// Identifiers get every role and count as unverified.
    pub async fn create(&self, tenant: &str, new: NewAccount) -> Result<Account> {
        let email = new.email.as_deref().map(parse_email).transpose()?;
        let phone = new.phone.as_deref().map(parse_phone).transpose()?;
        let name = new.name.as_deref().map(parse_name).transpose()?;
        if email.is_none() && phone.is_none() && name.is_none() {
            return Err(Error::invalid(Field::Identifier, "an email, a mobile or an account name is required"));
        }
        if new.password.chars().count() < 8 {
            return Err(Error::invalid(Field::Password, "at least 8 characters"));
        }
        let phc = self.passwords.hash(&new.password).await?;
        let bindings = email
            .map(|v| Binding { kind: Kind::Email, value: v, verified: false, roles: Roles::ALL })
            .into_iter()
            .chain(phone.map(|v| Binding { kind: Kind::Mobile, value: v, verified: false, roles: Roles::ALL }))
            .collect();
        let account = self.blank(name, bindings, phc);
        self.insert(tenant, &account).await?;
        self.store.commit().await?;
        Ok(account)
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Account> {
        self.store.get(tenant, id).await?.ok_or(Error::NotFound(Resource::Account))
    }

    pub async fn list(&self, tenant: &str) -> Result<Vec<Account>> {
        Ok(self.store.scan::<Account>(tenant, "").await?.into_iter().map(|(_, a)| a).collect())
    }

    /// The ids of every account `value` is bound to, in any role.
    pub async fn bound_to(&self, tenant: &str, kind: Kind, value: &str) -> Result<Vec<String>> {
        index::bound_accounts(&self.store, tenant, kind, value).await
    }

    /// The account a login identifier signs in (R6): an account name or id, or a
    /// mobile/email with the login role. A mobile or email bound to several accounts
    /// answers `several_accounts`.
    pub async fn find_login(&self, tenant: &str, identifier: &Identifier) -> Result<Option<Account>> {
        let kind = match identifier {
            Identifier::AccountId(id) => return self.store.get(tenant, id).await,
            Identifier::Name(_) => None,
            Identifier::Email(_) => Some(Kind::Email),
            Identifier::Phone(_) => Some(Kind::Mobile),
        };
        if let (Some(kind), Identifier::Email(v) | Identifier::Phone(v)) = (kind, identifier)
            && self.bound_to(tenant, kind, v).await?.len() > 1
        {
            return Err(Error::SeveralAccounts(identifier.kind()));
        }
        let Some(key) = identifier.index_key() else { return Ok(None) };
        match self.store.get::<IdentifierIndex>(tenant, &key).await? {
            Some(ix) => self.store.get(tenant, &ix.account_id).await,
            None => Ok(None),
        }
    }

    /// Records the device (digest of its cookie) an account signed in from; true if it
    /// is new and the account had signed in before (worth a notice, R38).
    pub async fn note_device(&self, tenant: &str, account_id: &str, device: &str) -> Result<bool> {
        self.modify(tenant, account_id, |a| {
            let first_ever = a.known_devices.is_empty();
            if a.known_devices.iter().any(|d| d == device) {
                return Ok(false);
            }
            a.known_devices.insert(0, device.to_string());
            a.known_devices.truncate(20);
            Ok(!first_ever)
        })
        .await
    }

    /// [`Accounts::note_device`] inside a transaction over [`Account`], at `now`.
    pub async fn note_device_in(tx: &Tx<'_>, tenant: &str, account_id: &str, device: &str, now: u64) -> TxResult<bool> {
        let Some(mut a) = tx.get::<Account>(tenant, account_id).await? else {
            return abort(Error::NotFound(Resource::Account));
        };
        let first_ever = a.known_devices.is_empty();
        if a.known_devices.iter().any(|d| d == device) {
            return Ok(false);
        }
        a.known_devices.insert(0, device.to_string());
        a.known_devices.truncate(20);
        a.updated_at = now;
        tx.put(tenant, account_id, &a).await?;
        Ok(!first_ever)
    }

    /// Replaces an account record (no identifier changes) atomically.
    pub async fn modify<T>(&self, tenant: &str, id: &str, mut f: impl FnMut(&mut Account) -> Result<T>) -> Result<T> {
        let now = self.clock.now();
        self.store
            .update::<Account, _>(tenant, id, |old| {
                let mut a = old.ok_or(Error::NotFound(Resource::Account))?;
                let out = f(&mut a)?;
                a.updated_at = now;
                Ok((Some(a), out))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r22_masks() {
        assert_eq!(mask(Kind::Mobile, "+8613800138000"), "+86138****8000");
        assert_eq!(mask(Kind::Email, "alice@example.com"), "a***@example.com");
    }
}
