//! OAuth clients: redirect URIs (exact match, see `redirect_uri` for which may be
//! registered), grant types, how they authenticate, token lifetimes, and whether they
//! may introspect other clients' tokens. Secrets are stored as HMAC-SHA256 under a key
//! derived from the seal key (`Sealer::digest`): fast enough for every token request,
//! and a copy of the store alone does not let anyone test guesses of a secret an admin
//! chose. Digests of the older form (salted SHA-256) still verify and are replaced by
//! the keyed form on the first successful authentication.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Field, Resource, Result};
use crate::keys::Alg;
use crate::redirect_uri;
use crate::seal::Sealer;
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
            .map_err(|_| Error::invalid(Field::Grant, format!("{s} is not a supported grant type")))
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

/// How a client's secret digest was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SecretForm {
    /// Before keyed digests: base64url(SHA-256(salt || 0 || secret)). Verified, then
    /// replaced by [`SecretForm::Keyed`].
    #[default]
    SaltedSha256,
    /// `Sealer::digest` under the context `client-secret/{tenant}/{id}`.
    Keyed,
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    secret_salt: Option<String>,
    secret_digest: Option<String>,
    /// Absent in records stored before keyed digests: those are salted SHA-256.
    #[serde(default)]
    secret_form: SecretForm,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: AuthMethod,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub id_token_alg: Alg,
    pub lifetimes: Lifetimes,
    pub created_at: u64,
    /// A resource server (RFC 7662 §2.1): may introspect tokens issued to any client
    /// of the tenant. Other clients introspect only their own tokens.
    #[serde(default)]
    pub resource_server: bool,
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

    /// True if this client may learn about a token issued to `token_client_id` by
    /// introspecting it (RFC 7662 §2.1, §4): its own tokens, or any token of the
    /// tenant for a registered resource server.
    pub fn may_introspect(&self, token_client_id: &str) -> bool {
        !self.is_public() && (self.resource_server || self.id == token_client_id)
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
    /// A resource server that may introspect any token of the tenant (RFC 7662).
    #[serde(default)]
    pub resource_server: bool,
}

/// A redirect or post-logout redirect URI: https, http on loopback, or a native app's
/// reverse-domain private-use scheme; no fragment (RFC 8252 §7, RFC 9700 §2.1).
fn validate_uri(field: Field, uri: &str) -> Result<()> {
    redirect_uri::check(uri).map_err(|r| match r {
        redirect_uri::Refusal::NotAbsolute => Error::invalid(field, format!("{uri} {}", r.reason())),
        _ => Error::invalid(field, r.reason()),
    })
}

fn validate(new: &NewClient) -> Result<()> {
    let id_ok = (1..=64).contains(&new.id.len())
        && new.id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(Error::invalid(Field::ClientId, "1 to 64 of letters, digits, . _ -"));
    }
    for u in &new.redirect_uris {
        validate_uri(Field::RedirectUri, u)?;
    }
    for u in &new.post_logout_redirect_uris {
        validate_uri(Field::PostLogoutRedirectUri, u)?;
    }
    if new.public && new.secret.is_some() {
        return Err(Error::invalid(Field::Secret, "a public client has no secret"));
    }
    if new.public && new.auth_method.is_some_and(|m| m != AuthMethod::None) {
        return Err(Error::invalid(Field::AuthMethod, "a public client uses none"));
    }
    if !new.public && new.auth_method == Some(AuthMethod::None) {
        return Err(Error::invalid(Field::AuthMethod, "none is for public clients (--public)"));
    }
    if new.secret.as_ref().is_some_and(|s| s.len() < 16 || s.len() > 256) {
        return Err(Error::invalid(Field::Secret, "16 to 256 characters"));
    }
    let grants = if new.grant_types.is_empty() { &[GrantType::AuthorizationCode][..] } else { &new.grant_types };
    if grants.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(Error::invalid(Field::RedirectUri, "authorization_code needs at least one redirect URI"));
    }
    if new.public && grants.contains(&GrantType::ClientCredentials) {
        return Err(Error::invalid(Field::Grant, "a public client cannot use client_credentials"));
    }
    if new.public && new.resource_server {
        return Err(Error::invalid(Field::ResourceServer, "a public client cannot introspect tokens"));
    }
    Ok(())
}

/// The keyed digest context of a client's secret: bound to the record, so a digest
/// copied to another client does not verify.
fn secret_context(tenant: &str, id: &str) -> String {
    format!("client-secret/{tenant}/{id}")
}

/// Registering, finding and authenticating clients.
pub struct Clients {
    store: Store,
    /// Keys the secret digests.
    sealer: Arc<Sealer>,
}

impl Clients {
    pub fn new(store: Store, sealer: Arc<Sealer>) -> Self {
        Clients { store, sealer }
    }

    fn build(&self, tenant: &str, new: NewClient, now: u64) -> Result<(Client, Option<String>)> {
        validate(&new)?;
        let (digest, shown) = if new.public {
            (None, None)
        } else {
            let given = new.secret.is_some();
            let plain = new.secret.clone().unwrap_or_else(secret::token);
            let digest = self.sealer.digest(&secret_context(tenant, &new.id), &plain);
            (Some(digest), if given { None } else { Some(plain) })
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
            secret_salt: None,
            secret_digest: digest,
            secret_form: SecretForm::Keyed,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types,
            auth_method,
            first_party: new.first_party,
            id_token_alg: new.id_token_alg.unwrap_or(Alg::RS256),
            lifetimes: new.lifetimes.unwrap_or_default(),
            created_at: now,
            resource_server: new.resource_server,
        };
        Ok((client, shown))
    }

    /// Registers a client; returns it and, if the secret was generated, the secret
    /// (shown once, never stored in plain text).
    pub async fn create(&self, clock: &dyn Clock, tenant: &str, new: NewClient) -> Result<(Client, Option<String>)> {
        let (client, shown) = self.build(tenant, new, clock.now())?;
        if !self.store.insert_new(tenant, &client.id, &client).await? {
            return Err(Error::IdentifierTaken(crate::IdentifierKind::ClientId));
        }
        Ok((client, shown))
    }

    /// Creates or replaces a client declared in configuration.
    pub async fn upsert(&self, clock: &dyn Clock, tenant: &str, new: NewClient) -> Result<Client> {
        let (client, _) = self.build(tenant, new, clock.now())?;
        self.store.put(tenant, &client.id, &client).await?;
        Ok(client)
    }

    pub async fn get(&self, tenant: &str, id: &str) -> Result<Client> {
        self.store.get(tenant, id).await?.ok_or(Error::NotFound(Resource::Client))
    }

    pub async fn list(&self, tenant: &str) -> Result<Vec<Client>> {
        Ok(self.store.scan::<Client>(tenant, "").await?.into_iter().map(|(_, c)| c).collect())
    }

    pub async fn remove(&self, tenant: &str, id: &str) -> Result<()> {
        self.store.remove::<Client>(tenant, id).await?.map(|_| ()).ok_or(Error::NotFound(Resource::Client))
    }

    /// Authenticates a client at the token, revocation or introspection endpoint.
    /// `secret` is what the request carried and `method` how it carried it; a
    /// confidential client must use its registered method.
    pub async fn authenticate(&self, tenant: &str, id: &str, presented: Presented<'_>) -> Result<Client> {
        let client = self.store.get::<Client>(tenant, id).await?.ok_or(Error::InvalidClient)?;
        let ok = match (client.auth_method, presented) {
            (AuthMethod::None, Presented::None) => true,
            (AuthMethod::ClientSecretBasic, Presented::Basic(s)) => self.secret_matches(tenant, &client, s),
            (AuthMethod::ClientSecretPost, Presented::Post(s)) => self.secret_matches(tenant, &client, s),
            _ => false,
        };
        if !ok {
            return Err(Error::InvalidClient);
        }
        if client.secret_form == SecretForm::SaltedSha256
            && let Presented::Basic(s) | Presented::Post(s) = presented
        {
            self.rekey(tenant, &client, s).await?;
        }
        Ok(client)
    }

    /// Compares a presented secret with the stored digest, in constant time.
    fn secret_matches(&self, tenant: &str, client: &Client, given: &str) -> bool {
        let Some(stored) = &client.secret_digest else { return false };
        let made = match (client.secret_form, &client.secret_salt) {
            (SecretForm::Keyed, _) => self.sealer.digest(&secret_context(tenant, &client.id), given),
            (SecretForm::SaltedSha256, Some(salt)) => secret::salted_digest(salt, given),
            (SecretForm::SaltedSha256, None) => return false,
        };
        secret::eq(&made, stored)
    }

    /// Replaces an older salted SHA-256 digest with the keyed one, once the secret is
    /// known to be right. Only if the record still holds that old digest.
    async fn rekey(&self, tenant: &str, seen: &Client, secret_value: &str) -> Result<()> {
        let keyed = self.sealer.digest(&secret_context(tenant, &seen.id), secret_value);
        self.store
            .update::<Client, _>(tenant, &seen.id, |old| match old {
                Some(mut c) if c.secret_form == SecretForm::SaltedSha256 && c.secret_digest == seen.secret_digest => {
                    c.secret_form = SecretForm::Keyed;
                    c.secret_salt = None;
                    c.secret_digest = Some(keyed.clone());
                    Ok((Some(c), ()))
                }
                _ => Ok((None, ())),
            })
            .await
    }
}

/// The credential a request presented for its client.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    None,
    Basic(&'a str),
    Post(&'a str),
}

/// The admin API's client operations, each durable before it returns.
impl Clients {
    /// Registers a client (see `create`), durably.
    pub async fn create_durably(
        &self,
        clock: &dyn Clock,
        tenant: &str,
        new: NewClient,
    ) -> Result<(Client, Option<String>)> {
        let created = self.create(clock, tenant, new).await?;
        self.store.commit().await?;
        Ok(created)
    }

    /// Removes a client (see `remove`), durably.
    pub async fn remove_durably(&self, tenant: &str, id: &str) -> Result<()> {
        self.remove(tenant, id).await?;
        self.store.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const T: &str = "t";
    const GIVEN: &str = "an-admin-chose-this-secret";

    fn setup() -> (Clients, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (Clients::new(store.clone(), Arc::new(Sealer::new([5; 32]))), store, dir)
    }

    fn confidential(id: &str) -> NewClient {
        NewClient {
            id: id.into(),
            secret: Some(GIVEN.into()),
            grant_types: vec![GrantType::ClientCredentials],
            ..NewClient::default()
        }
    }

    #[tokio::test]
    async fn p3_a_chosen_secret_is_stored_keyed_not_as_a_plain_digest() {
        let (clients, store, _d) = setup();
        clients.create(&ManualClock::new(), T, confidential("svc")).await.unwrap();
        let stored: Client = store.get(T, "svc").await.unwrap().unwrap();
        let digest = stored.secret_digest.clone().unwrap();
        assert_ne!(digest, secret::digest(GIVEN), "not SHA-256(secret)");
        assert_ne!(digest, GIVEN);
        assert_eq!(stored.secret_form, SecretForm::Keyed);
        // The keyed digest needs the seal key: another key makes another digest.
        let other = Sealer::new([6; 32]).digest(&secret_context(T, "svc"), GIVEN);
        assert_ne!(digest, other);
        // Authentication still works, and only with the right secret and method.
        assert!(clients.authenticate(T, "svc", Presented::Basic(GIVEN)).await.is_ok());
        assert!(matches!(clients.authenticate(T, "svc", Presented::Basic("wrong")).await, Err(Error::InvalidClient)));
        assert!(matches!(clients.authenticate(T, "svc", Presented::Post(GIVEN)).await, Err(Error::InvalidClient)));
        assert!(matches!(clients.authenticate(T, "nobody", Presented::Basic(GIVEN)).await, Err(Error::InvalidClient)));
        // A generated secret is keyed too.
        let (_, shown) =
            clients.create(&ManualClock::new(), T, NewClient { secret: None, ..confidential("gen") }).await.unwrap();
        let shown = shown.unwrap();
        let stored: Client = store.get(T, "gen").await.unwrap().unwrap();
        assert_ne!(stored.secret_digest.unwrap(), secret::digest(&shown));
        assert!(clients.authenticate(T, "gen", Presented::Basic(&shown)).await.is_ok());
    }

    #[tokio::test]
    async fn p3_an_older_salted_digest_still_verifies_and_is_rekeyed() {
        let (clients, store, _d) = setup();
        let (mut c, _) = clients.create(&ManualClock::new(), T, confidential("old")).await.unwrap();
        // As stored before keyed digests: salted SHA-256 and no secret_form.
        c.secret_salt = Some("salt".into());
        c.secret_digest = Some(secret::salted_digest("salt", GIVEN));
        let mut json = serde_json::to_value(&c).unwrap();
        json.as_object_mut().unwrap().remove("secret_form");
        json.as_object_mut().unwrap().remove("resource_server");
        let legacy: Client = serde_json::from_value(json).unwrap();
        assert_eq!(legacy.secret_form, SecretForm::SaltedSha256);
        assert!(!legacy.resource_server);
        store.put(T, "old", &legacy).await.unwrap();
        assert!(matches!(clients.authenticate(T, "old", Presented::Basic("wrong")).await, Err(Error::InvalidClient)));
        let still: Client = store.get(T, "old").await.unwrap().unwrap();
        assert_eq!(still.secret_form, SecretForm::SaltedSha256, "a wrong secret changes nothing");
        assert!(clients.authenticate(T, "old", Presented::Basic(GIVEN)).await.is_ok());
        let now: Client = store.get(T, "old").await.unwrap().unwrap();
        assert_eq!((now.secret_form, now.secret_salt.as_deref()), (SecretForm::Keyed, None));
        assert_ne!(now.secret_digest, legacy.secret_digest);
        assert!(clients.authenticate(T, "old", Presented::Basic(GIVEN)).await.is_ok(), "and verifies keyed");
    }

    #[tokio::test]
    async fn p2_registration_refuses_unsafe_redirect_uris() {
        let (clients, _, _d) = setup();
        let clock = ManualClock::new();
        let code_client = |uri: &str, public: bool| NewClient {
            id: "app".into(),
            public,
            secret: None,
            redirect_uris: vec![uri.into()],
            ..NewClient::default()
        };
        for bad in ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "http://example.com/cb"] {
            let e = clients.create(&clock, T, code_client(bad, false)).await.unwrap_err();
            assert!(matches!(e, Error::Invalid { field: Field::RedirectUri, .. }), "{bad}: {e}");
            let logout = NewClient {
                post_logout_redirect_uris: vec![bad.into()],
                ..code_client("https://app.example/cb", false)
            };
            let e = clients.create(&clock, T, logout).await.unwrap_err();
            assert!(matches!(e, Error::Invalid { field: Field::PostLogoutRedirectUri, .. }), "{bad}: {e}");
        }
        assert!(clients.create(&clock, T, code_client("com.example.app:/cb", true)).await.is_ok());
    }

    #[tokio::test]
    async fn p6_introspection_is_for_own_tokens_unless_a_resource_server() {
        let (clients, _, _d) = setup();
        let (c, _) = clients.build(T, confidential("web"), 0).unwrap();
        assert!(c.may_introspect("web"));
        assert!(!c.may_introspect("other"));
        let (rs, _) = clients.build(T, NewClient { resource_server: true, ..confidential("rs") }, 0).unwrap();
        assert!(rs.may_introspect("web") && rs.may_introspect("rs"));
        let public = NewClient {
            id: "pub".into(),
            public: true,
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            ..NewClient::default()
        };
        let (p, _) = clients.build(T, public.clone(), 0).unwrap();
        assert!(!p.may_introspect("pub"), "public clients never introspect");
        assert!(clients.build(T, NewClient { resource_server: true, ..public }, 0).is_err());
    }
}
