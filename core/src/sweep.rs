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
pub fn expired(store: &Store, now: u64) -> Result<usize> {
    Ok(store.sweep_expired::<CodeRecord>(now)?
        + store.sweep_expired::<Flow>(now)?
        + store.sweep_expired::<Session>(now)?
        + store.sweep_expired::<AccountSession>(now)?
        + store.sweep_expired::<Revoked>(now)?
        + store.sweep_expired::<RefreshToken>(now)?
        + store.sweep_expired::<Family>(now)?
        + store.sweep_expired::<AccountFamily>(now)?
        + store.sweep_expired::<DeviceAuthorization>(now)?
        + store.sweep_expired::<UserCode>(now)?
        + store.sweep_expired::<PasskeyCeremony>(now)?
        + store.sweep_expired::<Challenge>(now)?
        + store.sweep_expired::<Failures>(now)?
        + store.sweep_expired::<IpFailures>(now)?
        + store.sweep_expired::<Journey>(now)?
        + store.sweep_expired::<RememberedDevice>(now)?
        + store.sweep_expired::<Detour>(now)?
        + store.sweep_expired::<LinkRecord>(now)?
        + store.sweep_expired::<AdminSession>(now)?
        + store.sweep_expired::<UserCodeGuesses>(now)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sweep_removes_expired_records_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put("t", "gone", &Revoked { expires_at: 100 }).unwrap();
        store.put("t", "kept", &Revoked { expires_at: 200 }).unwrap();
        store.put("global", "gone", &AdminSession { created_at: 0, expires_at: 150 }).unwrap();
        assert_eq!(expired(&store, 150).unwrap(), 2);
        assert!(store.get::<Revoked>("t", "gone").unwrap().is_none());
        assert!(store.get::<Revoked>("t", "kept").unwrap().is_some());
        assert!(store.get::<AdminSession>("global", "gone").unwrap().is_none());
        assert_eq!(expired(&store, 150).unwrap(), 0, "nothing left to sweep");
    }
}
