//! Accounts and their login identifiers. An identifier (email, mobile, account name)
//! belongs to one account per tenant; that is enforced inside one store transaction.

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::credential::password::Passwords;
use crate::error::{Error, Result};
use crate::identifier::{ACCOUNT_ID_LEN, Identifier, parse_email, parse_name, parse_phone};
use crate::store::{Record, Store, abort};

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// 16 digits, never reused.
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// Argon2id PHC string.
    pub password: Option<String>,
    pub created_at: u64,
    /// Changes whenever the password does (ends "remember me" and sessions later).
    pub updated_at: u64,
}

impl Record for Account {
    const TREE: &'static str = "accounts";
    const VERSION: u32 = 1;
}

impl Account {
    /// The login identifiers this account holds.
    pub fn identifiers(&self) -> Vec<Identifier> {
        let mut v = Vec::new();
        if let Some(e) = &self.email {
            v.push(Identifier::Email(e.clone()));
        }
        if let Some(p) = &self.phone {
            v.push(Identifier::Phone(p.clone()));
        }
        if let Some(n) = &self.name {
            v.push(Identifier::Name(n.clone()));
        }
        v
    }
}

/// Index entry: login identifier -> account id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentifierIndex {
    pub account_id: String,
}

impl Record for IdentifierIndex {
    const TREE: &'static str = "identifiers";
    const VERSION: u32 = 1;
}

/// What is needed to create an account (admin API, CLI; registration later).
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

/// Creating, finding and signing in to accounts.
pub struct Accounts {
    store: Store,
    clock: Arc<dyn Clock>,
    passwords: Passwords,
}

const TREES: &[&str] = &[Account::TREE, IdentifierIndex::TREE];

fn new_account_id() -> String {
    let mut rng = rand::rngs::OsRng;
    let first = rng.gen_range(1..=9u8);
    let rest: String = (1..ACCOUNT_ID_LEN).map(|_| char::from(b'0' + rng.gen_range(0..=9u8))).collect();
    format!("{first}{rest}")
}

impl Accounts {
    pub fn new(store: Store, clock: Arc<dyn Clock>, passwords: Passwords) -> Self {
        Accounts { store, clock, passwords }
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Creates an account with at least one login identifier and a password.
    /// `identifier_taken` if any identifier belongs to another account.
    pub async fn create(&self, tenant: &str, new: NewAccount) -> Result<Account> {
        let email = new.email.as_deref().map(parse_email).transpose()?;
        let phone = new.phone.as_deref().map(parse_phone).transpose()?;
        let name = new.name.as_deref().map(parse_name).transpose()?;
        if email.is_none() && phone.is_none() && name.is_none() {
            return Err(Error::invalid("identifier", "an email, a mobile or an account name is required"));
        }
        if new.password.chars().count() < 8 {
            return Err(Error::invalid("password", "at least 8 characters"));
        }
        let phc = self.passwords.hash(&new.password).await?;
        let now = self.clock.now();
        let mut account = Account {
            id: String::new(),
            name,
            email,
            email_verified: false,
            phone,
            phone_verified: false,
            password: Some(phc),
            created_at: now,
            updated_at: now,
        };
        let keys: Vec<(String, &'static str)> =
            account.identifiers().iter().filter_map(|i| i.index_key().map(|k| (k, i.kind()))).collect();
        account.id = new_account_id();
        self.store.transaction(TREES, |tx| {
            if tx.get::<Account>(tenant, &account.id)?.is_some() {
                return abort(Error::Storage("account id collision".into()));
            }
            for (key, kind) in &keys {
                if tx.get::<IdentifierIndex>(tenant, key)?.is_some() {
                    return abort(Error::IdentifierTaken(kind));
                }
                tx.put(tenant, key, &IdentifierIndex { account_id: account.id.clone() })?;
            }
            tx.put(tenant, &account.id, &account)?;
            Ok(())
        })?;
        Ok(account)
    }

    pub fn get(&self, tenant: &str, id: &str) -> Result<Account> {
        self.store.get(tenant, id)?.ok_or(Error::NotFound("account"))
    }

    /// The account a login identifier names, if any.
    pub fn find(&self, tenant: &str, identifier: &Identifier) -> Result<Option<Account>> {
        let id = match identifier {
            Identifier::AccountId(id) => id.clone(),
            other => match other.index_key() {
                Some(k) => match self.store.get::<IdentifierIndex>(tenant, &k)? {
                    Some(ix) => ix.account_id,
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        self.store.get(tenant, &id)
    }

    pub fn list(&self, tenant: &str) -> Result<Vec<Account>> {
        Ok(self.store.scan::<Account>(tenant, "")?.into_iter().map(|(_, a)| a).collect())
    }

    /// Password sign-in with any identifier (R15). An unknown identifier and a wrong
    /// password give the same error after the same work (a dummy argon2 verify).
    pub async fn sign_in(&self, tenant: &str, identifier: &str, password: &str) -> Result<Account> {
        let account = match Identifier::parse(identifier) {
            Ok(i) => self.find(tenant, &i)?,
            Err(_) => None,
        };
        let phc = account.as_ref().and_then(|a| a.password.as_deref());
        if self.passwords.verify(phc, password).await? {
            account.ok_or(Error::BadCredentials)
        } else {
            Err(Error::BadCredentials)
        }
    }
}
