//! OAuth clients: redirect URIs (exact match), grant types, how they authenticate,
//! token lifetimes. Secrets are stored as salted SHA-256 digests: generated secrets
//! carry 256 bits, so a slow hash would only cost every token request.

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keys::Alg;
use crate::secret;
use crate::store::{Record, Store};

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628 device authorization grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    pub fn parse(s: &str) -> Result<GrantType> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| Error::invalid("grant", format!("{s} is not a supported grant type")))
    }
}

/// How a client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
}

/// Token lifetimes in seconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct Lifetimes {
    pub access_token: u64,
    pub id_token: u64,
    pub refresh_token: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes { access_token: 600, id_token: 600, refresh_token: 30 * 24 * 3600 }
    }
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    secret_salt: Option<String>,
    secret_digest: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub id_token_alg: Alg,
    pub lifetimes: Lifetimes,
    pub created_at: u64,
}

impl Record for Client {
    const TREE: &'static str = "clients";
    const VERSION: u32 = 1;
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// True if `uri` is one of the registered redirect URIs, compared exactly.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    fn secret_matches(&self, given: &str) -> bool {
        match (&self.secret_salt, &self.secret_digest) {
            (Some(salt), Some(d)) => secret::eq(&secret::salted_digest(salt, given), d),
            _ => false,
        }
    }
}

/// What is needed to register a client.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// 1 to 64 of letters, digits, `.`, `_`, `-`.
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The secret for a confidential client; generated (and returned once) if absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// A public client (no secret, PKCE required).
    #[serde(default)]
    pub public: bool,
    /// Absolute URIs without fragment, matched exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Defaults: authorization_code and refresh_token.
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    /// client_secret_basic (default for confidential clients) or client_secret_post.
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    #[serde(default)]
    pub first_party: bool,
    /// RS256 (default), ES256 or EdDSA for ID tokens.
    #[serde(default)]
    pub id_token_alg: Option<Alg>,
    #[serde(default)]
    pub lifetimes: Option<Lifetimes>,
}

fn validate_uri(field: &'static str, uri: &str) -> Result<()> {
    let u = url::Url::parse(uri).map_err(|_| Error::invalid(field, format!("{uri} is not an absolute URI")))?;
    if u.fragment().is_some() {
        return Err(Error::invalid(field, "may not have a fragment"));
    }
    if uri.len() > 2000 {
        return Err(Error::invalid(field, "too long"));
    }
    Ok(())
}

fn validate(new: &NewClient) -> Result<()> {
    let id_ok = (1..=64).contains(&new.id.len())
        && new.id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(Error::invalid("client_id", "1 to 64 of letters, digits, . _ -"));
    }
    for u in &new.redirect_uris {
        validate_uri("redirect_uri", u)?;
    }
    for u in &new.post_logout_redirect_uris {
        validate_uri("post_logout_redirect_uri", u)?;
    }
    if new.public && new.secret.is_some() {
        return Err(Error::invalid("secret", "a public client has no secret"));
    }
    if new.public && new.auth_method.is_some_and(|m| m != AuthMethod::None) {
        return Err(Error::invalid("auth_method", "a public client uses none"));
    }
    if !new.public && new.auth_method == Some(AuthMethod::None) {
        return Err(Error::invalid("auth_method", "none is for public clients (--public)"));
    }
    if new.secret.as_ref().is_some_and(|s| s.len() < 16 || s.len() > 256) {
        return Err(Error::invalid("secret", "16 to 256 characters"));
    }
    let grants = if new.grant_types.is_empty() { &[GrantType::AuthorizationCode][..] } else { &new.grant_types };
    if grants.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(Error::invalid("redirect_uri", "authorization_code needs at least one redirect URI"));
    }
    if new.public && grants.contains(&GrantType::ClientCredentials) {
        return Err(Error::invalid("grant", "a public client cannot use client_credentials"));
    }
    Ok(())
}

/// Registering, finding and authenticating clients.
pub struct Clients {
    store: Store,
}

impl Clients {
    pub fn new(store: Store) -> Self {
        Clients { store }
    }

    fn build(&self, new: NewClient, now: u64) -> Result<(Client, Option<String>)> {
        validate(&new)?;
        let (salt, digest, shown) = if new.public {
            (None, None, None)
        } else {
            let given = new.secret.is_some();
            let plain = new.secret.clone().unwrap_or_else(secret::token);
            let salt = secret::token_of(16);
            let digest = secret::salted_digest(&salt, &plain);
            (Some(salt), Some(digest), if given { None } else { Some(plain) })
        };
        let grant_types = if new.grant_types.is_empty() {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            new.grant_types.clone()
        };
        let auth_method = match (new.public, new.auth_method) {
            (true, _) => AuthMethod::None,
            (false, Some(m)) => m,
            (false, None) => AuthMethod::ClientSecretBasic,
        };
        let client = Client {
            name: new.name.clone().unwrap_or_else(|| new.id.clone()),
            id: new.id,
            secret_salt: salt,
            secret_digest: digest,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types,
            auth_method,
            first_party: new.first_party,
            id_token_alg: new.id_token_alg.unwrap_or(Alg::RS256),
            lifetimes: new.lifetimes.unwrap_or_default(),
            created_at: now,
        };
        Ok((client, shown))
    }

    /// Registers a client; returns it and, if the secret was generated, the secret
    /// (shown once, never stored in plain text).
    pub fn create(&self, clock: &dyn Clock, tenant: &str, new: NewClient) -> Result<(Client, Option<String>)> {
        let (client, shown) = self.build(new, clock.now())?;
        if !self.store.insert_new(tenant, &client.id, &client)? {
            return Err(Error::IdentifierTaken("client id"));
        }
        Ok((client, shown))
    }

    /// Creates or replaces a client declared in configuration.
    pub fn upsert(&self, clock: &dyn Clock, tenant: &str, new: NewClient) -> Result<Client> {
        let (client, _) = self.build(new, clock.now())?;
        self.store.put(tenant, &client.id, &client)?;
        Ok(client)
    }

    pub fn get(&self, tenant: &str, id: &str) -> Result<Client> {
        self.store.get(tenant, id)?.ok_or(Error::NotFound("client"))
    }

    pub fn list(&self, tenant: &str) -> Result<Vec<Client>> {
        Ok(self.store.scan::<Client>(tenant, "")?.into_iter().map(|(_, c)| c).collect())
    }

    pub fn remove(&self, tenant: &str, id: &str) -> Result<()> {
        self.store.remove::<Client>(tenant, id)?.map(|_| ()).ok_or(Error::NotFound("client"))
    }

    /// Authenticates a client at the token, revocation or introspection endpoint.
    /// `secret` is what the request carried and `method` how it carried it; a
    /// confidential client must use its registered method.
    pub fn authenticate(&self, tenant: &str, id: &str, presented: Presented<'_>) -> Result<Client> {
        let client = self.store.get::<Client>(tenant, id)?.ok_or(Error::InvalidClient)?;
        let ok = match (client.auth_method, presented) {
            (AuthMethod::None, Presented::None) => true,
            (AuthMethod::ClientSecretBasic, Presented::Basic(s)) => client.secret_matches(s),
            (AuthMethod::ClientSecretPost, Presented::Post(s)) => client.secret_matches(s),
            _ => false,
        };
        if ok { Ok(client) } else { Err(Error::InvalidClient) }
    }
}

/// The credential a request presented for its client.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    None,
    Basic(&'a str),
    Post(&'a str),
}
