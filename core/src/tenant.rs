//! Tenants: each is its own issuer with its own keys, clients and accounts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Field, Resource, Result};
use crate::keys::Keys;
use crate::settings::TenantSettings;
use crate::store::{GLOBAL, Record, Store};

/// A tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub created_at: u64,
    #[serde(default)]
    pub settings: TenantSettings,
}

impl Record for Tenant {
    const TREE: &'static str = "tenants";
    const VERSION: u32 = 1;
}

/// A tenant id: 1 to 40 of `a-z`, `0-9`, `-`; it appears in URLs and store keys.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = (1..=40).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok { Ok(()) } else { Err(Error::invalid(Field::Tenant, "1 to 40 of a-z, 0-9 and -")) }
}

/// Creating and reading tenants.
pub struct Tenants {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Tenants {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Tenants { store, clock }
    }

    /// Creates a tenant and its signing keys. `identifier_taken` if it exists.
    pub async fn create(&self, keys: &Keys, id: &str, display_name: &str) -> Result<Tenant> {
        validate_id(id)?;
        if display_name.chars().count() > 100 {
            return Err(Error::invalid(Field::DisplayName, "at most 100 characters"));
        }
        let tenant = Tenant {
            id: id.to_string(),
            display_name: if display_name.is_empty() { id.to_string() } else { display_name.to_string() },
            created_at: self.clock.now(),
            settings: TenantSettings::default(),
        };
        // Keys first: a tenant record never exists without its keys.
        keys.ensure(id).await?;
        if !self.store.insert_new(GLOBAL, id, &tenant).await? {
            return Err(Error::IdentifierTaken(crate::IdentifierKind::Tenant));
        }
        Ok(tenant)
    }

    /// Creates the tenant unless it exists; returns it either way.
    pub async fn ensure(&self, keys: &Keys, id: &str, display_name: &str) -> Result<Tenant> {
        match self.create(keys, id, display_name).await {
            Err(Error::IdentifierTaken(_)) => self.get(id).await,
            other => other,
        }
    }

    pub async fn get(&self, id: &str) -> Result<Tenant> {
        self.store.get(GLOBAL, id).await?.ok_or(Error::NotFound(Resource::Tenant))
    }

    /// The tenant's newest `limit` security events, newest first.
    pub async fn audit(&self, id: &str, limit: usize) -> Result<Vec<crate::audit::AuditEvent>> {
        self.get(id).await?;
        crate::audit::recent(&self.store, id, limit).await
    }

    /// Creates a tenant (see `create`), durably.
    pub async fn create_durably(&self, keys: &Keys, id: &str, display_name: &str) -> Result<Tenant> {
        let tenant = self.create(keys, id, display_name).await?;
        self.store.commit().await?;
        Ok(tenant)
    }

    /// Replaces a tenant's settings, durably.
    pub async fn set_settings_durably(&self, id: &str, settings: TenantSettings) -> Result<Tenant> {
        let tenant = self.set_settings(id, settings).await?;
        self.store.commit().await?;
        Ok(tenant)
    }

    /// Replaces a tenant's settings.
    pub async fn set_settings(&self, id: &str, settings: TenantSettings) -> Result<Tenant> {
        self.store
            .update::<Tenant, _>(GLOBAL, id, |old| {
                let mut t = old.ok_or(Error::NotFound(Resource::Tenant))?;
                t.settings = settings.clone();
                Ok((Some(t.clone()), t))
            })
            .await
    }

    pub async fn list(&self) -> Result<Vec<Tenant>> {
        Ok(self.store.scan::<Tenant>(GLOBAL, "").await?.into_iter().map(|(_, t)| t).collect())
    }
}

/// The settings of `tenant`, for services that read them themselves.
pub(crate) async fn settings_of(store: &Store, tenant: &str) -> Result<TenantSettings> {
    Ok(store.get::<Tenant>(GLOBAL, tenant).await?.ok_or(Error::NotFound(Resource::Tenant))?.settings)
}
