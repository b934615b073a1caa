//! The developer operations the edges call, each one whole: it reads the tenant's
//! settings itself, writes, and is durable before it returns (R11 to R14).

use std::collections::BTreeMap;

use super::{DeveloperType, Developers, Submission};
use crate::error::Result;
use crate::policy::{Facts, PolicyHost};
use crate::tenant::settings_of;

impl Developers {
    /// The developer types the tenant offers.
    pub async fn types(&self, tenant: &str) -> Result<Vec<DeveloperType>> {
        Ok(settings_of(&self.store, tenant).await?.developer.types)
    }

    /// Submits after the tenant's developer-submission hook (see
    /// `submit_with_policy`), under the tenant's settings, durably.
    pub async fn submit_durably(
        &self,
        policy: &PolicyHost,
        facts: &Facts,
        tenant: &str,
        account_id: &str,
        type_name: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<Submission> {
        let settings = settings_of(&self.store, tenant).await?;
        let submitted =
            self.submit_with_policy(policy, facts, tenant, &settings, account_id, type_name, fields).await?;
        self.store.commit().await?;
        Ok(submitted)
    }

    /// Approves a pending submission (see `approve`), durably.
    pub async fn approve_durably(&self, tenant: &str, account_id: &str, reviewer: &str) -> Result<Submission> {
        let s = self.approve(tenant, account_id, reviewer).await?;
        self.store.commit().await?;
        Ok(s)
    }

    /// Rejects a pending submission with a reason (see `reject`), durably.
    pub async fn reject_durably(
        &self,
        tenant: &str,
        account_id: &str,
        reviewer: &str,
        reason: &str,
    ) -> Result<Submission> {
        let s = self.reject(tenant, account_id, reviewer, reason).await?;
        self.store.commit().await?;
        Ok(s)
    }
}
