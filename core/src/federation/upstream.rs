//! Upstream providers of a tenant (admin API, tenant files). Client secrets and
//! signing keys are sealed at rest and never shown again.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Field, Resource, Result};
use crate::seal::Sealer;
use crate::store::{Record, Store};

/// How the upstream is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OpenID Connect: discovery, code + PKCE, a verified ID token.
    Oidc,
    /// Plain OAuth 2: authorize/token/userinfo URLs and a claim mapping.
    Oauth2,
}

/// Where the upstream sends its answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    /// Apple-style: the answer is POSTed to the callback.
    FormPost,
}

/// Which userinfo (or ID token) fields hold what, for plain OAuth 2 upstreams.
/// Dotted paths reach into objects; the subject may fall back through several
/// fields (WeChat: `unionid`, then `openid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub subject: Vec<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<String>,
    pub phone: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: vec!["sub".into()],
            name: Some("name".into()),
            email: Some("email".into()),
            email_verified: Some("email_verified".into()),
            phone: Some("phone_number".into()),
        }
    }
}

/// A client secret that is a JWT signed per request (Apple-style): ES256 over
/// `iss` = team id, `sub` = client id, `aud`, with the upstream's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSecret {
    pub team_id: String,
    pub key_id: String,
    /// PKCS#8 PEM of a P-256 key; write-only.
    #[serde(default, skip_serializing)]
    pub private_key: String,
    /// `aud` of the JWT (Apple: `https://appleid.apple.com`).
    pub audience: String,
}

/// An upstream as an administrator describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short id used in URLs (`[a-z0-9-]`, up to 32).
    pub id: String,
    pub display_name: String,
    /// An icon URL (https or data:) shown on the sign-in button.
    #[serde(default)]
    pub icon: Option<String>,
    pub protocol: Protocol,
    /// OIDC: the issuer (discovery at `{issuer}/.well-known/openid-configuration`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// OAuth 2 endpoints.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub claims: ClaimMapping,
    pub client_id: String,
    /// Write-only; sealed at rest.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_jwt: Option<JwtSecret>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// A first sign-in may create an account (just in time).
    #[serde(default = "yes")]
    pub create_accounts: bool,
}

fn yes() -> bool {
    true
}

/// The stored upstream: the config without secrets, plus the sealed secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upstream {
    pub config: UpstreamConfig,
    #[serde(default)]
    pub sealed_secret: Option<String>,
    #[serde(default)]
    pub sealed_key: Option<String>,
    pub updated_at: u64,
}

impl Record for Upstream {
    const TREE: &'static str = "upstreams";
    const VERSION: u32 = 1;
}

fn check_url(field: Field, url: &Option<String>) -> Result<()> {
    match url {
        Some(u) if url::Url::parse(u).is_ok_and(|p| p.scheme() == "https" || p.scheme() == "http") => Ok(()),
        Some(_) => Err(Error::invalid(field, "must be an http(s) URL")),
        None => Err(Error::invalid(field, "is required for this protocol")),
    }
}

impl UpstreamConfig {
    /// Refuses a config that cannot work.
    pub fn validate(&self) -> Result<()> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 32
            && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(Error::invalid(Field::Id, "1 to 32 of a-z, 0-9 and -"));
        }
        if self.display_name.trim().is_empty() || self.display_name.len() > 64 {
            return Err(Error::invalid(Field::DisplayName, "1 to 64 characters"));
        }
        if self.client_id.is_empty() {
            return Err(Error::invalid(Field::ClientId, "is required"));
        }
        if let Some(icon) = &self.icon
            && !(icon.starts_with("https://") || icon.starts_with("http://") || icon.starts_with("data:image/"))
        {
            return Err(Error::invalid(Field::Icon, "an http(s) or data:image URL"));
        }
        match self.protocol {
            Protocol::Oidc => check_url(Field::Issuer, &self.issuer),
            Protocol::Oauth2 => {
                check_url(Field::AuthorizationEndpoint, &self.authorization_endpoint)?;
                check_url(Field::TokenEndpoint, &self.token_endpoint)?;
                check_url(Field::UserinfoEndpoint, &self.userinfo_endpoint)?;
                if self.claims.subject.is_empty() {
                    return Err(Error::invalid(Field::ClaimsSubject, "at least one field"));
                }
                Ok(())
            }
        }
    }
}

/// What the HTTP client needs to talk to an upstream, secrets opened.
#[derive(Clone)]
pub struct Credentials {
    pub client_secret: Option<String>,
    /// The JWT-secret settings with the private key (PEM).
    pub jwt: Option<JwtSecret>,
}

pub struct Upstreams {
    store: Store,
    sealer: Arc<Sealer>,
}

fn context(tenant: &str, id: &str, what: &str) -> String {
    format!("upstream/{tenant}/{id}/{what}")
}

impl Upstreams {
    pub fn new(store: Store, sealer: Arc<Sealer>) -> Self {
        Upstreams { store, sealer }
    }

    /// Adds or replaces an upstream; a secret left out keeps the stored one.
    pub async fn put(&self, tenant: &str, mut config: UpstreamConfig, now: u64) -> Result<UpstreamConfig> {
        config.validate()?;
        let old = self.store.get::<Upstream>(tenant, &config.id).await?;
        let sealed_secret = match config.client_secret.take().filter(|s| !s.is_empty()) {
            Some(s) => Some(self.sealer.seal(&context(tenant, &config.id, "secret"), s.as_bytes())?),
            None => old.as_ref().and_then(|o| o.sealed_secret.clone()),
        };
        let sealed_key = match config.client_secret_jwt.as_mut().map(|j| std::mem::take(&mut j.private_key)) {
            Some(k) if !k.is_empty() => Some(self.sealer.seal(&context(tenant, &config.id, "key"), k.as_bytes())?),
            Some(_) => old.as_ref().and_then(|o| o.sealed_key.clone()),
            None => None,
        };
        if config.client_secret_jwt.is_some() && sealed_key.is_none() {
            return Err(Error::invalid(Field::ClientSecretJwtPrivateKey, "is required"));
        }
        let up = Upstream { config: config.clone(), sealed_secret, sealed_key, updated_at: now };
        self.store.put(tenant, &config.id, &up).await?;
        Ok(config)
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<UpstreamConfig> {
        if id.len() > 32 {
            return Err(Error::NotFound(Resource::Upstream));
        }
        Ok(self.store.get::<Upstream>(tenant, id).await?.ok_or(Error::NotFound(Resource::Upstream))?.config)
    }

    pub async fn list(&self, tenant: &str) -> Result<Vec<UpstreamConfig>> {
        Ok(self.store.scan::<Upstream>(tenant, "").await?.into_iter().map(|(_, u)| u.config).collect())
    }

    pub async fn remove(&self, tenant: &str, id: &str) -> Result<bool> {
        Ok(self.store.remove::<Upstream>(tenant, id).await?.is_some())
    }

    /// The opened secrets of an upstream, for the HTTP client only.
    pub async fn credentials(&self, tenant: &str, id: &str) -> Result<Credentials> {
        let up = self.store.get::<Upstream>(tenant, id).await?.ok_or(Error::NotFound(Resource::Upstream))?;
        let open = |what: &str, sealed: &Option<String>| -> Result<Option<String>> {
            sealed
                .as_deref()
                .map(|s| {
                    let bytes = self.sealer.open(&context(tenant, id, what), s)?;
                    String::from_utf8(bytes).map_err(|_| Error::Crypto("sealed upstream secret is not text"))
                })
                .transpose()
        };
        let client_secret = open("secret", &up.sealed_secret)?;
        let key = open("key", &up.sealed_key)?;
        let jwt = up.config.client_secret_jwt.map(|mut j| {
            j.private_key = key.unwrap_or_default();
            j
        });
        Ok(Credentials { client_secret, jwt })
    }
}

/// The admin API's upstream operations, each durable before it returns.
impl Upstreams {
    /// Saves an upstream provider (see `put`), durably.
    pub async fn put_durably(&self, tenant: &str, config: UpstreamConfig, now: u64) -> Result<UpstreamConfig> {
        let saved = self.put(tenant, config, now).await?;
        self.store.commit().await?;
        Ok(saved)
    }

    /// Removes an upstream provider (see `remove`), durably; false if there was none.
    pub async fn remove_durably(&self, tenant: &str, id: &str) -> Result<bool> {
        let removed = self.remove(tenant, id).await?;
        self.store.commit().await?;
        Ok(removed)
    }
}
