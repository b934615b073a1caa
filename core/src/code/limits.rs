//! Send limits for codes: a cooldown per destination, daily caps per mobile, per
//! email and per client IP. A refusal says when the next code may be asked for.

use serde::{Deserialize, Serialize};

use crate::code::Destination;
use crate::error::{Error, Result};
use crate::settings::CodeSettings;
use crate::store::{Record, Store, abort};

const DAY: u64 = 24 * 3600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Counter {
    day: u64,
    count: u32,
    last_sent: u64,
}

impl Record for Counter {
    const TREE: &'static str = "otp_limits";
    const VERSION: u32 = 1;
}

/// Counts one send to `to` from `ip`, or refuses with `retry_after`.
pub(super) async fn admit(
    store: &Store,
    tenant: &str,
    s: &CodeSettings,
    to: &Destination,
    ip: &str,
    now: u64,
) -> Result<()> {
    let day = now / DAY;
    let until_tomorrow = (day + 1) * DAY - now;
    let dest_cap = if to.is_email() { s.daily_per_email } else { s.daily_per_mobile };
    let dest_key = format!("to|{}", to.address);
    let ip_key = format!("ip|{ip}");
    store
        .transaction(&[Counter::TREE], async |tx| {
            let mut dest = tx
                .get::<Counter>(tenant, &dest_key)
                .await?
                .filter(|c| c.day == day)
                .unwrap_or(Counter { day, ..Counter::default() });
            let mut from = tx
                .get::<Counter>(tenant, &ip_key)
                .await?
                .filter(|c| c.day == day)
                .unwrap_or(Counter { day, ..Counter::default() });
            if dest.count > 0 && dest.last_sent + s.resend_cooldown > now {
                return abort(Error::RateLimited { retry_after: dest.last_sent + s.resend_cooldown - now });
            }
            if dest.count >= dest_cap || (!ip.is_empty() && from.count >= s.daily_per_ip) {
                return abort(Error::RateLimited { retry_after: until_tomorrow });
            }
            dest.count += 1;
            dest.last_sent = now;
            tx.put(tenant, &dest_key, &dest).await?;
            if !ip.is_empty() {
                from.count += 1;
                from.last_sent = now;
                tx.put(tenant, &ip_key, &from).await?;
            }
            Ok(())
        })
        .await
}
