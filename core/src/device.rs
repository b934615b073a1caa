//! Devices (P8, R13): the device authorization grant (RFC 8628) by which TVs and IoT
//! devices sign in, and the devices bound to an account (direct devices, gateways and
//! the sub-devices behind them), with an exact per-account count.
//!
//! Device codes are stored as digests and redeemed once; user codes are stored under
//! their normalized form (`BCDFGHJK`), shown as `BCDF-GHJK`. Approving an
//! authorization binds the device to the approving account in the same transaction.
//!
//! Binding takes the cap as an argument (`limit`): the caller, the device-binding
//! policy hook, decides it. A sub-device names its gateway, which must be a gateway of
//! the same account; a gateway that still has sub-devices cannot be unbound (unbind
//! the sub-devices first), so no sub-device is ever left pointing at nothing. The
//! gateway record counts its sub-devices, so that rule holds under concurrency too.

mod durable;
pub mod guesses;
mod poll;
pub(crate) use poll::Polled;
pub mod request;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Field, Refusal, Resource, Result};
use crate::grant::family::Grant;
use crate::policy::{DeviceBindingInput, Facts, PolicyHost};
use crate::secret;
use crate::store::{Record, Store, abort};

/// How long a device authorization can be approved and redeemed (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_LIFETIME: u64 = 600;
/// The polling interval a device starts with (RFC 8628 §3.2 `interval`).
pub const POLL_INTERVAL: u64 = 5;
/// How much a `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: u64 = 5;
/// Characters of a user code: no vowels (no words), nothing easily confused.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (without the dash).
pub const USER_CODE_LEN: usize = 8;
/// The denial reason when a binding would pass the account's device limit (R13).
pub const LIMIT_REACHED: &str = "device_limit_reached";

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthorizationState {
    Pending,
    Approved(Approval),
    Denied,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

/// Who approved a device authorization, from their browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub account_id: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub acr: String,
    pub sid: String,
}

/// A device authorization, stored under the digest of its device code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Normalized user code.
    pub user_code: String,
    /// The device's own id and name, if the device sent them.
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub state: AuthorizationState,
    /// The current polling interval; grows with each `slow_down`.
    pub interval: u64,
    pub last_poll: Option<u64>,
    pub valid_until: u64,
    pub expires_at: u64,
}

impl Record for DeviceAuthorization {
    const TREE: &'static str = "device_authorizations";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// A user code, stored under its normalized form; points at its authorization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserCode {
    pub device_key: String,
    pub expires_at: u64,
}

impl Record for UserCode {
    const TREE: &'static str = "device_user_codes";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// What a device gets back from the device authorization endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub device_code: String,
    /// For people: `XXXX-XXXX`.
    pub user_code: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// A pending authorization as the person approving it sees it.
#[derive(Debug, Clone)]
pub struct PendingView {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub device_name: Option<String>,
    /// `XXXX-XXXX`.
    pub user_code: String,
}

/// An approved authorization, redeemed once by the device.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub approval: Approval,
}

impl Redeemed {
    /// The grant tokens are minted from, in the token family `family`.
    pub fn into_grant(self, family: String) -> Grant {
        Grant {
            family,
            client_id: self.client_id,
            account_id: self.approval.account_id,
            scopes: self.scopes,
            auth_time: self.approval.auth_time,
            amr: self.approval.amr,
            acr: self.approval.acr,
            sid: self.approval.sid,
            nonce: None,
        }
    }
}

/// What a device is to its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Direct,
    Gateway,
    SubDevice,
}

/// How a device came to be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundVia {
    DeviceGrant,
    Api,
}

/// A device bound to an account, stored under `{account_id}/{device_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub device_id: String,
    pub name: String,
    pub kind: DeviceKind,
    /// The gateway of a sub-device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    pub bound_at: u64,
    pub via: BoundVia,
    /// Sub-devices bound behind this gateway.
    #[serde(default)]
    pub sub_devices: u64,
}

impl Record for Device {
    const TREE: &'static str = "devices";
    const VERSION: u32 = 1;
}

/// Devices bound to one account (sub-devices included), kept in the same
/// transaction as every binding so the count is exact.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeviceCount {
    pub count: u64,
}

impl Record for DeviceCount {
    const TREE: &'static str = "device_counts";
    const VERSION: u32 = 1;
}

/// A device to bind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// 1 to 64 of letters, digits, `.`, `_`, `-`, `:`; unique within the account.
    pub device_id: String,
    /// 1 to 64 characters, no control characters.
    pub name: String,
    pub kind: DeviceKind,
    /// Required for a sub-device (a gateway of the same account), refused otherwise.
    #[serde(default)]
    pub gateway: Option<String>,
}

fn device_key(account_id: &str, device_id: &str) -> String {
    format!("{account_id}/{device_id}")
}

fn valid_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

fn clean_name(name: &str) -> Option<String> {
    let n = name.trim();
    let ok = (1..=64).contains(&n.chars().count()) && !n.chars().any(char::is_control);
    ok.then(|| n.to_string())
}

/// The normalized form of a user code as a person typed it (case, dashes and spaces
/// ignored), or `None` if it cannot be one.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let n: String = typed.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
    let ok = n.len() == USER_CODE_LEN && n.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    ok.then_some(n)
}

/// `XXXX-XXXX` for a normalized user code.
pub fn display_user_code(normalized: &str) -> String {
    let (a, b) = normalized.split_at(normalized.len() / 2);
    format!("{a}-{b}")
}

fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN).map(|_| char::from(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())])).collect()
}

/// Device authorizations and bound devices.
#[derive(Clone)]
pub struct Devices {
    store: Store,
}

impl Devices {
    pub fn new(store: Store) -> Self {
        Devices { store }
    }

    /// Starts a device authorization for `client_id` (RFC 8628 §3.1). `device_id` and
    /// `device_name` are optional facts the device sent about itself.
    pub async fn start(
        &self,
        tenant: &str,
        client_id: &str,
        scopes: Vec<String>,
        device_id: Option<String>,
        device_name: Option<String>,
        now: u64,
    ) -> Result<Started> {
        if device_id.as_deref().is_some_and(|d| !valid_device_id(d)) {
            return Err(Error::invalid(Field::DeviceId, "1 to 64 of letters, digits, . _ - :"));
        }
        let device_name = match device_name.filter(|n| !n.trim().is_empty()) {
            Some(n) => Some(clean_name(&n).ok_or_else(|| Error::invalid(Field::DeviceName, "1 to 64 characters"))?),
            None => None,
        };
        let device_code = secret::token();
        let device_key = secret::digest(&device_code);
        let valid_until = now + DEVICE_CODE_LIFETIME;
        // Keep the record a while after expiry so late polls get `expired_token`.
        let expires_at = valid_until + DEVICE_CODE_LIFETIME;
        let mut user_code = None;
        for _ in 0..8 {
            let candidate = new_user_code();
            let rec = UserCode { device_key: device_key.clone(), expires_at };
            if self.store.insert_new(tenant, &candidate, &rec).await? {
                user_code = Some(candidate);
                break;
            }
        }
        let user_code = user_code.ok_or(Error::Storage("no free user code".into()))?;
        let rec = DeviceAuthorization {
            client_id: client_id.to_string(),
            scopes,
            user_code: user_code.clone(),
            device_id,
            device_name,
            state: AuthorizationState::Pending,
            interval: POLL_INTERVAL,
            last_poll: None,
            valid_until,
            expires_at,
        };
        self.store.put(tenant, &device_key, &rec).await?;
        Ok(Started {
            device_code,
            user_code: display_user_code(&user_code),
            expires_in: DEVICE_CODE_LIFETIME,
            interval: POLL_INTERVAL,
        })
    }

    /// The pending authorization behind a user code a person typed. Unknown, spent
    /// or decided codes are `code_invalid`; expired ones `code_expired`.
    pub async fn pending(&self, tenant: &str, typed: &str, now: u64) -> Result<PendingView> {
        let (_, rec) = self.lookup(tenant, typed, now).await?;
        Ok(PendingView {
            client_id: rec.client_id,
            scopes: rec.scopes,
            device_name: rec.device_name,
            user_code: display_user_code(&rec.user_code),
        })
    }

    /// The pending authorization behind a user code a person typed, throttled
    /// (RFC 8628 §5.1, `guesses`): the try is reserved against the account and the IP
    /// first (`rate_limited` when they must wait), a wrong or expired code keeps it
    /// and is audited (`device_code_wrong`), a right one gives it back. Durable
    /// before it answers. The page calls this before it approves or denies.
    pub async fn check_user_code(
        &self,
        tenant: &str,
        rules: &crate::settings::DeviceCodeSettings,
        who: &guesses::Guesser<'_>,
        typed: &str,
        now: u64,
    ) -> Result<PendingView> {
        if let Err(e) = guesses::reserve(&self.store, tenant, rules, who, now).await {
            if matches!(e, Error::RateLimited { .. }) {
                guesses::audit(&self.store, tenant, who, "device_code_throttled", now).await?;
                self.store.commit().await?;
            }
            return Err(e);
        }
        let found = self.pending(tenant, typed, now).await;
        match &found {
            Err(Error::CodeInvalid | Error::CodeExpired) => {
                guesses::audit(&self.store, tenant, who, "device_code_wrong", now).await?;
            }
            _ => guesses::release(&self.store, tenant, who, now).await?,
        }
        self.store.commit().await?;
        found
    }

    async fn lookup(&self, tenant: &str, typed: &str, now: u64) -> Result<(String, DeviceAuthorization)> {
        let code = normalize_user_code(typed).ok_or(Error::CodeInvalid)?;
        let uc = self.store.get::<UserCode>(tenant, &code).await?.ok_or(Error::CodeInvalid)?;
        let rec = self.store.get::<DeviceAuthorization>(tenant, &uc.device_key).await?.ok_or(Error::CodeInvalid)?;
        if rec.user_code != code || rec.state != AuthorizationState::Pending {
            return Err(Error::CodeInvalid);
        }
        if now >= rec.valid_until {
            return Err(Error::CodeExpired);
        }
        Ok((uc.device_key, rec))
    }

    /// Approves the authorization behind a user code and binds the device to the
    /// approving account (kind direct, via the device grant), in one transaction:
    /// if the binding is refused (`limit`), the authorization stays pending. A device
    /// that sent a `device_id` already bound to this account keeps its binding.
    /// `client_name` names the device when it sent no name of its own.
    pub async fn approve(
        &self,
        tenant: &str,
        typed: &str,
        approval: Approval,
        client_name: &str,
        limit: Option<u64>,
        now: u64,
    ) -> Result<Device> {
        let (key, first) = self.lookup(tenant, typed, now).await?;
        let device_id = first.device_id.clone().unwrap_or_else(|| format!("dg-{}", secret::token_of(9)));
        let name = first
            .device_name
            .clone()
            .unwrap_or_else(|| clean_name(client_name).unwrap_or_else(|| first.client_id.clone()));
        let trees = [DeviceAuthorization::TREE, Device::TREE, DeviceCount::TREE];
        self.store
            .transaction(&trees, async |tx| {
                let Some(mut rec) = tx.get::<DeviceAuthorization>(tenant, &key).await? else {
                    return abort(Error::CodeInvalid);
                };
                if rec.state != AuthorizationState::Pending {
                    return abort(Error::CodeInvalid);
                }
                if now >= rec.valid_until {
                    return abort(Error::CodeExpired);
                }
                let dkey = device_key(&approval.account_id, &device_id);
                let device = match tx.get::<Device>(tenant, &dkey).await? {
                    Some(existing) => existing,
                    None => {
                        let new = Device {
                            device_id: device_id.clone(),
                            name: name.clone(),
                            kind: DeviceKind::Direct,
                            gateway: None,
                            bound_at: now,
                            via: BoundVia::DeviceGrant,
                            sub_devices: 0,
                        };
                        add_counted(tx, tenant, &approval.account_id, &new, limit).await?;
                        new
                    }
                };
                rec.state = AuthorizationState::Approved(approval.clone());
                tx.put(tenant, &key, &rec).await?;
                Ok(device)
            })
            .await
    }

    /// Denies the authorization behind a user code; the device's next poll gets
    /// `access_denied`.
    pub async fn deny(&self, tenant: &str, typed: &str, now: u64) -> Result<()> {
        let (key, _) = self.lookup(tenant, typed, now).await?;
        let changed = self
            .store
            .update::<DeviceAuthorization, _>(tenant, &key, |old| match old {
                Some(mut rec) if rec.state == AuthorizationState::Pending => {
                    rec.state = AuthorizationState::Denied;
                    Ok((Some(rec), true))
                }
                _ => Ok((None, false)),
            })
            .await?;
        if changed { Ok(()) } else { Err(Error::CodeInvalid) }
    }

    /// Binds a device to an account through the API. Fails with
    /// `policy_denied{device_limit_reached}` and changes nothing if the account already
    /// has `limit` devices (sub-devices count); `None` is no limit. The device-binding
    /// policy hook decides the limit; this method only enforces it, exactly.
    pub async fn bind(
        &self,
        tenant: &str,
        account_id: &str,
        new: NewDevice,
        limit: Option<u64>,
        now: u64,
    ) -> Result<Device> {
        if !valid_device_id(&new.device_id) {
            return Err(Error::invalid(Field::DeviceId, "1 to 64 of letters, digits, . _ - :"));
        }
        let name = clean_name(&new.name).ok_or_else(|| Error::invalid(Field::Name, "1 to 64 characters"))?;
        match (new.kind, &new.gateway) {
            (DeviceKind::SubDevice, None) => {
                return Err(Error::invalid(Field::Gateway, "a sub-device names its gateway"));
            }
            (DeviceKind::SubDevice, Some(g)) if g == &new.device_id => {
                return Err(Error::invalid(Field::Gateway, "a device cannot be its own gateway"));
            }
            (DeviceKind::Direct | DeviceKind::Gateway, Some(_)) => {
                return Err(Error::invalid(Field::Gateway, "only a sub-device has a gateway"));
            }
            _ => {}
        }
        let device = Device {
            device_id: new.device_id,
            name,
            kind: new.kind,
            gateway: new.gateway,
            bound_at: now,
            via: BoundVia::Api,
            sub_devices: 0,
        };
        self.store
            .transaction(&[Device::TREE, DeviceCount::TREE], async |tx| {
                if tx.get::<Device>(tenant, &device_key(account_id, &device.device_id)).await?.is_some() {
                    return abort(Error::IdentifierTaken(crate::IdentifierKind::DeviceId));
                }
                if let Some(g) = &device.gateway {
                    let gkey = device_key(account_id, g);
                    match tx.get::<Device>(tenant, &gkey).await? {
                        Some(mut gw) if gw.kind == DeviceKind::Gateway => {
                            gw.sub_devices += 1;
                            tx.put(tenant, &gkey, &gw).await?;
                        }
                        _ => return abort(Error::invalid(Field::Gateway, "no gateway of this account has that id")),
                    }
                }
                add_counted(tx, tenant, account_id, &device, limit).await?;
                Ok(device.clone())
            })
            .await
    }

    /// The devices bound to an account, by id.
    pub async fn list(&self, tenant: &str, account_id: &str) -> Result<Vec<Device>> {
        Ok(self.store.scan::<Device>(tenant, &format!("{account_id}/")).await?.into_iter().map(|(_, d)| d).collect())
    }

    /// How many devices the account has bound (sub-devices count, R13).
    pub async fn count(&self, tenant: &str, account_id: &str) -> Result<u64> {
        Ok(self.store.get::<DeviceCount>(tenant, account_id).await?.map_or(0, |c| c.count))
    }

    /// Unbinds a device. A gateway that still has sub-devices is refused
    /// (`refused{gateway_has_sub_devices}`): unbind its sub-devices first.
    pub async fn unbind(&self, tenant: &str, account_id: &str, device_id: &str) -> Result<Device> {
        let key = device_key(account_id, device_id);
        self.store
            .transaction(&[Device::TREE, DeviceCount::TREE], async |tx| {
                let Some(device) = tx.get::<Device>(tenant, &key).await? else {
                    return abort(Error::NotFound(Resource::Device));
                };
                if device.sub_devices > 0 {
                    return abort(Error::Refused(Refusal::GatewayHasSubDevices));
                }
                if let Some(g) = &device.gateway {
                    let gkey = device_key(account_id, g);
                    if let Some(mut gw) = tx.get::<Device>(tenant, &gkey).await? {
                        gw.sub_devices = gw.sub_devices.saturating_sub(1);
                        tx.put(tenant, &gkey, &gw).await?;
                    }
                }
                tx.remove::<Device>(tenant, &key).await?;
                let mut c = tx.get::<DeviceCount>(tenant, account_id).await?.unwrap_or_default();
                c.count = c.count.saturating_sub(1);
                tx.put(tenant, account_id, &c).await?;
                Ok(device.clone())
            })
            .await
    }
}

/// Inside a binding transaction: checks the limit, stores the device, counts it.
async fn add_counted(
    tx: &crate::store::Tx<'_>,
    tenant: &str,
    account_id: &str,
    device: &Device,
    limit: Option<u64>,
) -> crate::store::TxResult<()> {
    let mut c = tx.get::<DeviceCount>(tenant, account_id).await?.unwrap_or_default();
    if limit.is_some_and(|l| c.count >= l) {
        return abort(Error::denied(LIMIT_REACHED));
    }
    c.count += 1;
    tx.put(tenant, account_id, &c).await?;
    tx.put(tenant, &device_key(account_id, &device.device_id), device).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DevicePoll;

    fn setup() -> (Devices, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (Devices::new(store), dir)
    }

    fn approval(account: &str) -> Approval {
        Approval { account_id: account.into(), auth_time: 1, amr: vec!["pwd".into()], acr: "0".into(), sid: "s".into() }
    }

    fn direct(id: &str) -> NewDevice {
        NewDevice { device_id: id.into(), name: format!("Device {id}"), kind: DeviceKind::Direct, gateway: None }
    }

    fn flow_error(r: Result<Redeemed>) -> &'static str {
        match r {
            Err(Error::DeviceFlow(c)) => c.as_str(),
            Err(e) => e.code(),
            Ok(_) => "ok",
        }
    }

    #[test]
    fn p8_user_codes_are_unambiguous_and_normalized() {
        for _ in 0..100 {
            let c = new_user_code();
            assert_eq!(normalize_user_code(&display_user_code(&c).to_lowercase()).as_deref(), Some(c.as_str()));
        }
        assert_eq!(normalize_user_code("bcdf-ghjk"), Some("BCDFGHJK".into()));
        assert_eq!(normalize_user_code("BCDF GHJK"), Some("BCDFGHJK".into()));
        assert_eq!(normalize_user_code("ABCD-EFGH"), None, "vowels are not in the alphabet");
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
    }

    #[tokio::test]
    async fn p8_pending_slow_down_approve_redeem_once() {
        let (d, _dir) = setup();
        let s = d.start("t", "tv", vec!["openid".into()], None, Some("Living room".into()), 100).await.unwrap();
        assert_eq!((s.expires_in, s.interval), (DEVICE_CODE_LIFETIME, POLL_INTERVAL));
        assert_eq!(s.user_code.len(), 9);
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 100).await), DevicePoll::AuthorizationPending.as_str());
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 102).await), DevicePoll::SlowDown.as_str());
        // The interval grew to 10 s: polling 6 s later is still too fast.
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 108).await), DevicePoll::SlowDown.as_str());
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 123).await), DevicePoll::AuthorizationPending.as_str());
        assert_eq!(flow_error(d.poll("t", "other", &s.device_code, 140).await), "invalid_grant");
        let view = d.pending("t", &s.user_code.to_lowercase(), 130).await.unwrap();
        assert_eq!(view.device_name.as_deref(), Some("Living room"));
        let dev = d.approve("t", &s.user_code, approval("acc"), "TV app", None, 130).await.unwrap();
        assert_eq!((dev.kind, dev.via, dev.name.as_str()), (DeviceKind::Direct, BoundVia::DeviceGrant, "Living room"));
        assert_eq!(d.count("t", "acc").await.unwrap(), 1);
        assert!(d.pending("t", &s.user_code, 131).await.is_err(), "a decided code cannot be approved again");
        let r = d.poll("t", "tv", &s.device_code, 140).await.unwrap();
        assert_eq!(r.approval.account_id, "acc");
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 150).await), "invalid_grant");
    }

    #[tokio::test]
    async fn p8_denied_and_expired() {
        let (d, _dir) = setup();
        let s = d.start("t", "tv", vec![], None, None, 0).await.unwrap();
        d.deny("t", &s.user_code, 10).await.unwrap();
        assert_eq!(flow_error(d.poll("t", "tv", &s.device_code, 20).await), DevicePoll::AccessDenied.as_str());
        let s = d.start("t", "tv", vec![], None, None, 0).await.unwrap();
        assert!(matches!(d.pending("t", &s.user_code, DEVICE_CODE_LIFETIME).await, Err(Error::CodeExpired)));
        assert_eq!(
            flow_error(d.poll("t", "tv", &s.device_code, DEVICE_CODE_LIFETIME + 1).await),
            DevicePoll::ExpiredToken.as_str()
        );
    }

    #[tokio::test]
    async fn r13_bind_past_the_limit_fails_and_changes_nothing() {
        let (d, _dir) = setup();
        d.bind("t", "acc", direct("a"), Some(2), 1).await.unwrap();
        d.bind("t", "acc", direct("b"), Some(2), 1).await.unwrap();
        let e = d.bind("t", "acc", direct("c"), Some(2), 1).await.unwrap_err();
        assert!(matches!(&e, Error::PolicyDenied { reason } if reason == LIMIT_REACHED), "{e:?}");
        assert_eq!(d.count("t", "acc").await.unwrap(), 2);
        assert_eq!(d.list("t", "acc").await.unwrap().len(), 2);
        // A device approval past the limit is refused too, and stays pending.
        let s = d.start("t", "tv", vec![], None, None, 0).await.unwrap();
        assert!(d.approve("t", &s.user_code, approval("acc"), "TV", Some(2), 1).await.is_err());
        assert_eq!(d.count("t", "acc").await.unwrap(), 2);
        assert!(d.pending("t", &s.user_code, 2).await.is_ok());
        d.bind("t", "acc", direct("c"), None, 1).await.unwrap();
        assert_eq!(d.count("t", "acc").await.unwrap(), 3);
    }

    #[tokio::test]
    async fn r13_sub_devices_count_and_hold_their_gateway() {
        let (d, _dir) = setup();
        let gw = NewDevice { device_id: "gw".into(), name: "Hub".into(), kind: DeviceKind::Gateway, gateway: None };
        d.bind("t", "acc", gw, None, 1).await.unwrap();
        let sub = |id: &str, g: &str| NewDevice {
            device_id: id.into(),
            name: "Lamp".into(),
            kind: DeviceKind::SubDevice,
            gateway: Some(g.into()),
        };
        d.bind("t", "acc", sub("l1", "gw"), None, 1).await.unwrap();
        d.bind("t", "acc", sub("l2", "gw"), None, 1).await.unwrap();
        assert_eq!(d.count("t", "acc").await.unwrap(), 3);
        assert!(matches!(
            d.bind("t", "acc", sub("l3", "nope"), None, 1).await,
            Err(Error::Invalid { field: Field::Gateway, .. })
        ));
        d.bind("t", "acc", direct("plain"), None, 1).await.unwrap();
        assert!(
            matches!(d.bind("t", "acc", sub("l3", "plain"), None, 1).await, Err(Error::Invalid { .. })),
            "not a gateway"
        );
        assert!(
            matches!(d.bind("t", "other", sub("l3", "gw"), None, 1).await, Err(Error::Invalid { .. })),
            "another account's"
        );
        assert!(matches!(d.bind("t", "acc", direct("l1"), None, 1).await, Err(Error::IdentifierTaken(_))));
        assert!(matches!(d.unbind("t", "acc", "gw").await, Err(Error::Refused(Refusal::GatewayHasSubDevices))));
        d.unbind("t", "acc", "l1").await.unwrap();
        d.unbind("t", "acc", "l2").await.unwrap();
        d.unbind("t", "acc", "gw").await.unwrap();
        assert_eq!(d.count("t", "acc").await.unwrap(), 1);
        assert!(matches!(d.unbind("t", "acc", "gw").await, Err(Error::NotFound(_))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn r13_concurrent_binds_respect_the_limit_exactly() {
        let (d, _dir) = setup();
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let d = d.clone();
                tokio::spawn(async move { d.bind("t", "acc", direct(&format!("d{i}")), Some(10), 1).await.is_ok() })
            })
            .collect();
        let mut ok = 0;
        for h in handles {
            ok += usize::from(h.await.unwrap());
        }
        assert_eq!(ok, 10);
        assert_eq!(d.count("t", "acc").await.unwrap(), 10);
        assert_eq!(d.list("t", "acc").await.unwrap().len(), 10);
    }
}

/// What the device-binding hook knows of the account's developer identity (R13).
#[derive(Debug, Clone, Default)]
pub struct DeveloperFacts {
    pub developer_type: Option<String>,
    pub review_status: String,
}

/// How often a binding is retried when another one raced in between the hook's
/// answer and the write.
const BIND_ATTEMPTS: usize = 4;

impl Devices {
    fn hook_input(
        account_id: &str,
        dev: &DeveloperFacts,
        count: u64,
        kind: DeviceKind,
        gateway: Option<String>,
    ) -> DeviceBindingInput {
        let kind = match kind {
            DeviceKind::Direct => "direct",
            DeviceKind::Gateway => "gateway",
            DeviceKind::SubDevice => "sub-device",
        };
        DeviceBindingInput {
            account_id: account_id.to_string(),
            developer_type: dev.developer_type.clone(),
            review_status: dev.review_status.clone(),
            device_count: count,
            device_kind: kind.into(),
            gateway,
        }
    }

    /// Binds a device after the tenant's device-binding hook allows it (R13, W1). The
    /// hook answers for the count it saw, so the write is conditional on that count;
    /// if another binding raced in, the hook is asked again.
    #[allow(clippy::too_many_arguments)]
    pub async fn bind_with_policy(
        &self,
        policy: &PolicyHost,
        facts: &Facts,
        tenant: &str,
        account_id: &str,
        dev: &DeveloperFacts,
        new: NewDevice,
        now: u64,
    ) -> Result<Device> {
        for _ in 0..BIND_ATTEMPTS {
            let count = self.count(tenant, account_id).await?;
            let input = Self::hook_input(account_id, dev, count, new.kind, new.gateway.clone());
            policy.device_binding(tenant, facts, &input).await.into_result()?;
            match self.bind(tenant, account_id, new.clone(), Some(count + 1), now).await {
                Err(Error::PolicyDenied { reason }) if reason == LIMIT_REACHED => continue,
                other => return other,
            }
        }
        Err(Error::Refused(Refusal::BindingsChanging))
    }

    /// Approves a device authorization after the device-binding hook allows it.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve_with_policy(
        &self,
        policy: &PolicyHost,
        facts: &Facts,
        tenant: &str,
        typed: &str,
        approval: Approval,
        dev: &DeveloperFacts,
        client_name: &str,
        now: u64,
    ) -> Result<Device> {
        for _ in 0..BIND_ATTEMPTS {
            let count = self.count(tenant, &approval.account_id).await?;
            let input = Self::hook_input(&approval.account_id, dev, count, DeviceKind::Direct, None);
            policy.device_binding(tenant, facts, &input).await.into_result()?;
            match self.approve(tenant, typed, approval.clone(), client_name, Some(count + 1), now).await {
                Err(Error::PolicyDenied { reason }) if reason == LIMIT_REACHED => continue,
                other => return other,
            }
        }
        Err(Error::Refused(Refusal::BindingsChanging))
    }
}
