//! Passkeys (WebAuthn, R20): registration and sign-in ceremonies, and the account's
//! stored credentials. Used both as a second factor and for passwordless sign-in.
//! webauthn-rs does the cryptography; this module owns the state between the two
//! halves of a ceremony and the tenant-wide uniqueness of credential ids.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::clock::Clock;
use crate::error::{Error, Field, Resource, Result};
use crate::seal::Sealer;
use crate::secret;
use crate::store::{Record, Store, abort};

mod decoy;

/// How long a started ceremony can be finished (also the browser prompt's timeout).
pub const CEREMONY_TTL: u64 = 300;
/// Longest label a person can give a passkey, in characters.
pub const MAX_LABEL: usize = 64;
const DEFAULT_LABEL: &str = "Passkey";

/// The relying party: who the browser says it is talking to. Derived from the
/// provider's public URL and the tenant's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rp {
    /// The RP id: a domain name, the origin's host or a parent of it.
    pub id: String,
    /// The web origin the browser reports (`https://id.example.com`, `http://localhost:8080`).
    pub origin: Url,
    /// Shown by the authenticator when creating a passkey.
    pub name: String,
}

impl Rp {
    /// The relying party of a site served at `public_url`. WebAuthn (browsers and
    /// webauthn-rs) refuse IP-address hosts: use `localhost`, not `127.0.0.1`.
    pub fn from_public_url(public_url: &Url, name: &str) -> Result<Rp> {
        let Some(id) = public_url.domain() else {
            return Err(Error::invalid(
                Field::PublicUrl,
                "passkeys need a domain name, not an IP address (use localhost)",
            ));
        };
        let origin = Url::parse(&public_url.origin().ascii_serialization())
            .map_err(|e| Error::invalid(Field::PublicUrl, e.to_string()))?;
        Ok(Rp { id: id.to_string(), origin, name: name.to_string() })
    }

    /// Exact origin match (scheme, host and port); no subdomains. Cheap to build.
    fn webauthn(&self) -> Result<Webauthn> {
        WebauthnBuilder::new(&self.id, &self.origin)
            .map(|b| b.rp_name(&self.name))
            .and_then(|b| b.build())
            .map_err(|_| Error::Crypto("passkey relying party: the id must be the origin's domain or a parent of it"))
    }
}

/// What the account center shows about one passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    /// The credential id, base64url.
    pub id: String,
    pub label: String,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

/// A verified passkey sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub account_id: String,
    pub passkey_id: String,
    pub user_verified: bool,
}

/// A stored passkey, under `{account}/{credential id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPasskey {
    pub info: PasskeyInfo,
    passkey: Passkey,
}

impl Record for StoredPasskey {
    const TREE: &'static str = "passkeys";
    const VERSION: u32 = 1;
}

/// Index: credential id -> account, so an id is registered once per tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyOwner {
    pub account_id: String,
}

impl Record for PasskeyOwner {
    const TREE: &'static str = "passkey_ids";
    const VERSION: u32 = 1;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum CeremonyState {
    Registration(PasskeyRegistration),
    Authentication(PasskeyAuthentication),
    /// A sign-in started for an identifier without passkeys (R36): never verifies.
    Decoy {
        identifier: String,
    },
}

/// Whose sign-in a started ceremony is, for the failure limits (R19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFor {
    Account(String),
    /// An identifier no account holds (a decoy).
    Unknown(String),
}

/// The server half of a ceremony in progress, under the digest of its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    account_id: String,
    rp_id: String,
    state: CeremonyState,
    expires_at: u64,
}

impl Record for PasskeyCeremony {
    const TREE: &'static str = "passkey_ceremonies";
    const VERSION: u32 = 1;
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

/// Passkey registration, sign-in and management.
pub struct Passkeys {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Keys the decoys' fake credentials (R36).
    sealer: Arc<Sealer>,
}

impl Passkeys {
    pub fn new(store: Store, clock: Arc<dyn Clock>, sealer: Arc<Sealer>) -> Self {
        Passkeys { store, clock, sealer }
    }

    /// Starts adding a passkey to the account; returns the ceremony id and the
    /// options for `navigator.credentials.create`. The account's passkeys are excluded.
    pub async fn start_registration(
        &self,
        tenant: &str,
        rp: &Rp,
        account_id: &str,
        user_name: &str,
        display_name: &str,
    ) -> Result<(String, serde_json::Value)> {
        let exclude = self.stored(tenant, account_id).await?.into_iter().map(|s| s.passkey.cred_id().clone()).collect();
        let (options, state) = rp
            .webauthn()?
            .start_passkey_registration(user_handle(tenant, account_id), user_name, display_name, Some(exclude))
            .map_err(|_| Error::Crypto("passkey registration could not start"))?;
        let id = self.begin(tenant, rp, account_id, CeremonyState::Registration(state)).await?;
        Ok((id, serde_json::to_value(options)?))
    }

    /// Finishes adding a passkey with the browser's `RegisterPublicKeyCredential`.
    /// The ceremony is used up whatever the outcome.
    pub async fn finish_registration(
        &self,
        tenant: &str,
        rp: &Rp,
        account_id: &str,
        ceremony_id: &str,
        credential: serde_json::Value,
        label: &str,
    ) -> Result<PasskeyInfo> {
        let label = clean_label(label)?;
        let ceremony = self.take(tenant, rp, ceremony_id).await?;
        let CeremonyState::Registration(state) = ceremony.state else { return Err(Error::PasskeyRejected) };
        if ceremony.account_id != account_id {
            return Err(Error::PasskeyRejected);
        }
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| Error::invalid(Field::Credential, e.to_string()))?;
        let passkey = rp.webauthn()?.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(error = %e, "passkey registration rejected");
            Error::PasskeyRejected
        })?;
        let id = URL_SAFE_NO_PAD.encode(passkey.cred_id());
        let info = PasskeyInfo { id: id.clone(), label, created_at: self.clock.now(), last_used_at: None };
        let stored = StoredPasskey { info: info.clone(), passkey };
        let key = format!("{account_id}/{id}");
        self.store
            .transaction(&[StoredPasskey::TREE, PasskeyOwner::TREE], async |tx| {
                if tx.get::<PasskeyOwner>(tenant, &id).await?.is_some() {
                    return abort(Error::PasskeyRejected);
                }
                tx.put(tenant, &id, &PasskeyOwner { account_id: account_id.to_string() }).await?;
                tx.put(tenant, &key, &stored).await
            })
            .await?;
        Ok(info)
    }

    /// Starts a sign-in with one of the account's passkeys (second factor, or
    /// passwordless after the identifier); returns the ceremony id and the options
    /// for `navigator.credentials.get`. `NotFound(Resource::Passkey)` if it has none.
    pub async fn start_authentication(
        &self,
        tenant: &str,
        rp: &Rp,
        account_id: &str,
    ) -> Result<(String, serde_json::Value)> {
        let passkeys: Vec<Passkey> = self.stored(tenant, account_id).await?.into_iter().map(|s| s.passkey).collect();
        if passkeys.is_empty() {
            return Err(Error::NotFound(Resource::Passkey));
        }
        let (options, state) = rp
            .webauthn()?
            .start_passkey_authentication(&passkeys)
            .map_err(|_| Error::Crypto("passkey sign-in could not start"))?;
        let id = self.begin(tenant, rp, account_id, CeremonyState::Authentication(state)).await?;
        Ok((id, serde_json::to_value(options)?))
    }

    /// Starts a passwordless sign-in for `identifier` (R20), which signs in
    /// `account_id` if that is `Some`. The answer has the same shape whether or not
    /// that account exists and has passkeys (R36): without any, the options are a
    /// decoy (fake credentials stable per identifier) and the ceremony never verifies.
    pub async fn start_sign_in(
        &self,
        tenant: &str,
        rp: &Rp,
        account_id: Option<&str>,
        identifier: &str,
    ) -> Result<(String, serde_json::Value)> {
        // The same store work either way: one scan, one ceremony written.
        let passkeys: Vec<Passkey> =
            self.stored(tenant, account_id.unwrap_or("-")).await?.into_iter().map(|s| s.passkey).collect();
        match account_id {
            Some(id) if !passkeys.is_empty() => {
                let (options, state) = rp
                    .webauthn()?
                    .start_passkey_authentication(&passkeys)
                    .map_err(|_| Error::Crypto("passkey sign-in could not start"))?;
                let ceremony = self.begin(tenant, rp, id, CeremonyState::Authentication(state)).await?;
                Ok((ceremony, serde_json::to_value(options)?))
            }
            _ => {
                let options = decoy::options(&self.sealer, rp, tenant, identifier);
                let state = CeremonyState::Decoy { identifier: identifier.to_string() };
                let ceremony = self.begin(tenant, rp, account_id.unwrap_or(""), state).await?;
                Ok((ceremony, options))
            }
        }
    }

    /// Whose sign-in a live ceremony is, without using it up; `None` for no sign-in
    /// ceremony by that id.
    pub async fn sign_in_for(&self, tenant: &str, ceremony_id: &str) -> Result<Option<SignInFor>> {
        if ceremony_id.len() > 64 {
            return Ok(None);
        }
        let now = self.clock.now();
        let ceremony = self.store.get_live::<PasskeyCeremony>(tenant, &secret::digest(ceremony_id), now).await?;
        Ok(ceremony.and_then(|c| match c.state {
            CeremonyState::Registration(_) => None,
            _ if !c.account_id.is_empty() => Some(SignInFor::Account(c.account_id)),
            CeremonyState::Decoy { identifier } => Some(SignInFor::Unknown(identifier)),
            CeremonyState::Authentication(_) => None,
        }))
    }

    /// Verifies the browser's `PublicKeyCredential` assertion; says which account
    /// and passkey signed in. The ceremony is used up whatever the outcome.
    pub async fn finish_authentication(
        &self,
        tenant: &str,
        rp: &Rp,
        ceremony_id: &str,
        credential: serde_json::Value,
    ) -> Result<Authenticated> {
        let ceremony = self.take(tenant, rp, ceremony_id).await?;
        let CeremonyState::Authentication(state) = ceremony.state else { return Err(Error::PasskeyRejected) };
        let credential: PublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| Error::invalid(Field::Credential, e.to_string()))?;
        let result = rp.webauthn()?.finish_passkey_authentication(&credential, &state).map_err(|e| {
            tracing::info!(error = %e, "passkey assertion rejected");
            Error::PasskeyRejected
        })?;
        let passkey_id = URL_SAFE_NO_PAD.encode(result.cred_id());
        let account_id = ceremony.account_id;
        let now = self.clock.now();
        // The state lists the passkeys as they were at the start: one removed since
        // still verifies, so the stored record has the last word.
        let found = self
            .store
            .update::<StoredPasskey, _>(tenant, &format!("{account_id}/{passkey_id}"), |old| {
                Ok(match old {
                    Some(mut s) => {
                        s.passkey.update_credential(&result);
                        s.info.last_used_at = Some(now);
                        (Some(s), true)
                    }
                    None => (None, false),
                })
            })
            .await?;
        if !found {
            return Err(Error::PasskeyRejected);
        }
        Ok(Authenticated { account_id, passkey_id, user_verified: result.user_verified() })
    }

    /// The account's passkeys, oldest first.
    pub async fn list(&self, tenant: &str, account_id: &str) -> Result<Vec<PasskeyInfo>> {
        let mut out: Vec<PasskeyInfo> = self.stored(tenant, account_id).await?.into_iter().map(|s| s.info).collect();
        out.sort_by_key(|i| i.created_at);
        Ok(out)
    }

    /// Removes one of the account's passkeys; false if it had none by that id.
    pub async fn remove(&self, tenant: &str, account_id: &str, passkey_id: &str) -> Result<bool> {
        let key = format!("{account_id}/{passkey_id}");
        self.store
            .transaction(&[StoredPasskey::TREE, PasskeyOwner::TREE], async |tx| {
                if tx.get::<StoredPasskey>(tenant, &key).await?.is_none() {
                    return Ok(false);
                }
                tx.remove::<StoredPasskey>(tenant, &key).await?;
                tx.remove::<PasskeyOwner>(tenant, passkey_id).await?;
                Ok(true)
            })
            .await
    }

    /// How many passkeys the account has.
    pub async fn count(&self, tenant: &str, account_id: &str) -> Result<usize> {
        Ok(self.stored(tenant, account_id).await?.len())
    }

    async fn stored(&self, tenant: &str, account_id: &str) -> Result<Vec<StoredPasskey>> {
        Ok(self
            .store
            .scan::<StoredPasskey>(tenant, &format!("{account_id}/"))
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    async fn begin(&self, tenant: &str, rp: &Rp, account_id: &str, state: CeremonyState) -> Result<String> {
        let id = secret::token();
        let ceremony = PasskeyCeremony {
            account_id: account_id.to_string(),
            rp_id: rp.id.clone(),
            state,
            expires_at: self.clock.now() + CEREMONY_TTL,
        };
        self.store.put(tenant, &secret::digest(&id), &ceremony).await?;
        Ok(id)
    }

    /// Removes the ceremony (single use) and returns it if it is live and for `rp`.
    async fn take(&self, tenant: &str, rp: &Rp, ceremony_id: &str) -> Result<PasskeyCeremony> {
        match self.store.remove::<PasskeyCeremony>(tenant, &secret::digest(ceremony_id)).await? {
            Some(c) if c.expires_at > self.clock.now() && c.rp_id == rp.id => Ok(c),
            _ => Err(Error::PasskeyRejected),
        }
    }
}

/// The WebAuthn user handle: stable per tenant and account, so an authenticator
/// keeps one credential per account, and free of personal data. A UUIDv8 over
/// SHA-256 of both.
fn user_handle(tenant: &str, account_id: &str) -> Uuid {
    let digest = Sha256::new().chain_update(tenant).chain_update([0u8]).chain_update(account_id).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

fn clean_label(label: &str) -> Result<String> {
    let label = label.trim();
    if label.is_empty() {
        return Ok(DEFAULT_LABEL.to_string());
    }
    if label.chars().count() > MAX_LABEL {
        return Err(Error::invalid(Field::Label, format!("at most {MAX_LABEL} characters")));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::invalid(Field::Label, "no control characters"));
    }
    Ok(label.to_string())
}

#[cfg(test)]
mod tests;
