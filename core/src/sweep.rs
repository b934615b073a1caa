//! The sweep of expired records: the one list of record types that expire, so a new
//! expiring record is added where the records are, not in the server.

use crate::admin_session::AdminSession;
use crate::captcha::Challenge;
use crate::code::links::LinkRecord;
use crate::credential::passkey::PasskeyCeremony;
use crate::device::guesses::UserCodeGuesses;
use crate::device::{DeviceAuthorization, UserCode};
use crate::error::Result;
use crate::federation::detour::Detour;
use crate::grant::account_families::AccountFamily;
use crate::grant::code::CodeRecord;
use crate::grant::family::{Family, RefreshToken};
use crate::grant::request::Flow;
use crate::grant::revoked::Revoked;
use crate::session::{AccountSession, Session};
use crate::signin::attempts::{Failures, IpFailures};
use crate::signin::journey::Journey;
use crate::signin::remembered::RememberedDevice;
use crate::store::Store;

/// Removes every record that expired before `now`, in every tenant; returns how many.
pub async fn expired(store: &Store, now: u64) -> Result<usize> {
    Ok(store.sweep_expired::<CodeRecord>(now).await?
        + store.sweep_expired::<Flow>(now).await?
        + store.sweep_expired::<Session>(now).await?
        + store.sweep_expired::<AccountSession>(now).await?
        + store.sweep_expired::<Revoked>(now).await?
        + store.sweep_expired::<RefreshToken>(now).await?
        + store.sweep_expired::<Family>(now).await?
        + store.sweep_expired::<AccountFamily>(now).await?
        + store.sweep_expired::<DeviceAuthorization>(now).await?
        + store.sweep_expired::<UserCode>(now).await?
        + store.sweep_expired::<PasskeyCeremony>(now).await?
        + store.sweep_expired::<Challenge>(now).await?
        + store.sweep_expired::<Failures>(now).await?
        + store.sweep_expired::<IpFailures>(now).await?
        + store.sweep_expired::<Journey>(now).await?
        + store.sweep_expired::<RememberedDevice>(now).await?
        + store.sweep_expired::<Detour>(now).await?
        + store.sweep_expired::<LinkRecord>(now).await?
        + store.sweep_expired::<AdminSession>(now).await?
        + store.sweep_expired::<UserCodeGuesses>(now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sweep_removes_expired_records_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put("t", "gone", &Revoked { expires_at: 100 }).await.unwrap();
        store.put("t", "kept", &Revoked { expires_at: 200 }).await.unwrap();
        store.put("global", "gone", &AdminSession { created_at: 0, expires_at: 150 }).await.unwrap();
        assert_eq!(expired(&store, 150).await.unwrap(), 2);
        assert!(store.get::<Revoked>("t", "gone").await.unwrap().is_none());
        assert!(store.get::<Revoked>("t", "kept").await.unwrap().is_some());
        assert!(store.get::<AdminSession>("global", "gone").await.unwrap().is_none());
        assert_eq!(expired(&store, 150).await.unwrap(), 0, "nothing left to sweep");
    }
}
