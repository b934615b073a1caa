//! A `Tokens` service over a real store with a manual clock, one tenant, an account
//! and two confidential clients, for the token unit tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::account::{Accounts, NewAccount};
use crate::client::{Client, Clients, GrantType, NewClient};
use crate::clock::{Clock, ManualClock};
use crate::code::{Codes, Message, Outbox};
use crate::credential::password::{HashParams, Passwords};
use crate::grant::Tokens;
use crate::grant::family::{self, Grant};
use crate::keys::Keys;
use crate::policy::PolicyHost;
use crate::policy::wasm::{Limits, WasmHost};
use crate::seal::Sealer;
use crate::settings::TenantSettings;
use crate::store::{GLOBAL, Store};
use crate::tenant::Tenant;

pub(super) const T: &str = "t";
pub(super) const EMAIL: &str = "alice@example.com";

/// An outbox that drops every message.
struct Dropped;

impl Outbox for Dropped {
    fn deliver<'a>(&'a self, _: &'a Message) -> Pin<Box<dyn Future<Output = crate::Result<()>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

pub(super) struct Kit {
    pub tokens: Tokens,
    pub store: Store,
    pub keys: Arc<Keys>,
    pub clients: Clients,
    pub clock: Arc<ManualClock>,
    /// A confidential client registered for authorization_code and refresh_token.
    pub mine: Client,
    pub other: Client,
    pub account_id: String,
    pub now: u64,
    _dir: tempfile::TempDir,
}

pub(super) async fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let sealer = Arc::new(Sealer::new([9; 32]));
    let keys = Arc::new(Keys::new(store.clone(), dyn_clock.clone(), sealer.clone(), 3600));
    keys.ensure(T).await.unwrap();
    let tenant = Tenant { id: T.into(), display_name: "T".into(), created_at: 0, settings: TenantSettings::default() };
    store.put(GLOBAL, T, &tenant).await.unwrap();
    let codes = Arc::new(Codes::new(store.clone(), dyn_clock.clone(), Arc::new(Dropped)));
    let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
    let policy = Arc::new(PolicyHost::new(store.clone(), dyn_clock.clone(), WasmHost::new(Limits::default()).unwrap()));
    let accounts = Arc::new(Accounts::new(store.clone(), dyn_clock.clone(), passwords, codes, policy.clone()));
    let new = NewAccount {
        email: Some(EMAIL.into()),
        name: Some("alice".into()),
        password: "correct horse battery".into(),
        ..Default::default()
    };
    let account = accounts.create(T, new).await.unwrap();
    let clients = Clients::new(store.clone(), sealer);
    let make = |id: &str| NewClient {
        id: id.into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..NewClient::default()
    };
    let (mine, _) = clients.create(clock.as_ref(), T, make("mine")).await.unwrap();
    let (other, _) = clients.create(clock.as_ref(), T, make("other")).await.unwrap();
    let now = clock.now();
    Kit {
        tokens: Tokens::new(store.clone(), dyn_clock, keys.clone(), accounts, policy, "https://id.example"),
        store,
        keys,
        clients,
        clock,
        mine,
        other,
        account_id: account.id,
        now,
        _dir: dir,
    }
}

impl Kit {
    /// A grant of the kit's account to `client` for `scopes`, in a new family.
    pub async fn grant(&self, client: &Client, scopes: &[&str]) -> Grant {
        let fam = family::open(&self.store, T, &client.id, &self.account_id, self.now + 3600).await.unwrap();
        Grant {
            family: fam,
            client_id: client.id.clone(),
            account_id: self.account_id.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            auth_time: self.now,
            amr: vec!["pwd".into()],
            acr: "1".into(),
            sid: "sid-1".into(),
            nonce: Some("n-1".into()),
        }
    }

    /// A refresh token of `client`'s new family: (token, family).
    pub async fn refresh_of(&self, client: &Client) -> (String, String) {
        let grant = self.grant(client, &["openid"]).await;
        (family::issue_refresh(&self.store, T, &grant, self.now, 3600).await.unwrap(), grant.family)
    }
}
