//! Signing keys per tenant: RS256 (mandatory), ES256 and EdDSA, made at tenant
//! creation, rotated on demand. Retired public keys stay published until every token
//! they signed has expired. Private keys are aws-lc-rs PKCS#8 documents (constant-time),
//! sealed at rest with the seal key and bound to `signing-key/{tenant}/{kid}`, so a copy
//! of the store without `seal.key` holds no usable private key. Records written before
//! sealing (plain `pkcs8`) still load and are sealed in place on first read.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Field, Resource, Result};
use crate::seal::Sealer;
use crate::secret;
use crate::store::{Record, Store};

/// A JWS signing algorithm Latchkey signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Result<Alg> {
        Alg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid(Field::Alg, format!("{s} is not one of RS256, ES256, EdDSA")))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    alg: Alg,
    /// PKCS#8 DER, base64: only in records written before keys were sealed; the first
    /// read seals it into `sealed` and clears it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pkcs8: String,
    /// PKCS#8 DER sealed by [`Sealer::seal`] under [`seal_context`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sealed: String,
    created_at: u64,
    /// Set when a newer key took over; the key then only verifies.
    retired_at: Option<u64>,
}

/// All keys of one tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRingRecord {
    generation: u64,
    keys: Vec<StoredKey>,
}

impl Record for KeyRingRecord {
    const TREE: &'static str = "keys";
    const VERSION: u32 = 1;
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// The public half of a key, in JWK terms.
#[derive(Debug, Clone)]
pub enum PublicJwk {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Okp { x: Vec<u8> },
}

/// A loaded key that can sign (if active) and verify.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pub retired_at: Option<u64>,
    pair: Pair,
}

impl SigningKey {
    /// Signs `msg` with this key's algorithm (JWS encoding: raw r||s for ES256).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig).map_err(|_| Error::Crypto("rsa sign"))?;
                Ok(sig)
            }
            Pair::Ec(k) => Ok(k.sign(&rng, msg).map_err(|_| Error::Crypto("ecdsa sign"))?.as_ref().to_vec()),
            Pair::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }

    /// Checks a JWS signature made by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (alg, public): (&dyn signature::VerificationAlgorithm, &[u8]) = match &self.pair {
            Pair::Rsa(k) => (&signature::RSA_PKCS1_2048_8192_SHA256, k.public_key().as_ref()),
            Pair::Ec(k) => (&signature::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref()),
            Pair::Ed(k) => (&signature::ED25519, k.public_key().as_ref()),
        };
        signature::UnparsedPublicKey::new(alg, public).verify(msg, sig).is_ok()
    }

    /// The public key as JWK parameters.
    pub fn public_jwk(&self) -> PublicJwk {
        match &self.pair {
            Pair::Rsa(k) => PublicJwk::Rsa {
                n: k.public_key().modulus().big_endian_without_leading_zero().to_vec(),
                e: k.public_key().exponent().big_endian_without_leading_zero().to_vec(),
            },
            Pair::Ec(k) => {
                // Uncompressed point: 0x04 || x || y.
                let p = k.public_key().as_ref();
                PublicJwk::Ec { x: p[1..33].to_vec(), y: p[33..65].to_vec() }
            }
            Pair::Ed(k) => PublicJwk::Okp { x: k.public_key().as_ref().to_vec() },
        }
    }

    /// The public key as a JWKS entry (RFC 7517 §4): `kty`, its parameters, `kid`,
    /// and the `alg` and `use` it is for, so a verifier never tries it with another
    /// algorithm.
    pub fn jwk(&self) -> serde_json::Value {
        let mut jwk = match self.public_jwk() {
            PublicJwk::Rsa { n, e } => serde_json::json!({ "kty": "RSA", "n": b64(&n), "e": b64(&e) }),
            PublicJwk::Ec { x, y } => serde_json::json!({ "kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y) }),
            PublicJwk::Okp { x } => serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&x) }),
        };
        jwk["kid"] = self.kid.clone().into();
        jwk["alg"] = self.alg.as_str().into();
        jwk["use"] = "sig".into();
        jwk
    }
}

/// The loaded keys of one tenant.
pub struct KeyRing {
    generation: u64,
    /// When this process last compared `generation` with the store.
    checked_at: std::sync::atomic::AtomicU64,
    pub keys: Vec<SigningKey>,
}

impl KeyRing {
    /// The active key for `alg`.
    pub fn active(&self, alg: Alg) -> Result<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.alg == alg && k.retired_at.is_none())
            .ok_or(Error::Crypto("no active key for algorithm"))
    }

    /// Any key (active or retired) with this kid.
    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// The associated data a tenant's private key is sealed under: a sealed key copied to
/// another tenant or kid does not open.
fn seal_context(tenant: &str, kid: &str) -> String {
    format!("signing-key/{tenant}/{kid}")
}

impl StoredKey {
    /// True for a record still holding its private key in plain text.
    fn is_plain(&self) -> bool {
        !self.pkcs8.is_empty()
    }

    /// Moves a plain private key into `sealed`.
    fn seal(&mut self, sealer: &Sealer, tenant: &str) -> Result<()> {
        if self.is_plain() {
            let der = STANDARD.decode(&self.pkcs8).map_err(|_| Error::Crypto("key encoding"))?;
            self.sealed = sealer.seal(&seal_context(tenant, &self.kid), &der)?;
            self.pkcs8.clear();
        }
        Ok(())
    }

    /// The PKCS#8 DER of the private key.
    fn der(&self, sealer: &Sealer, tenant: &str) -> Result<Vec<u8>> {
        if self.is_plain() {
            return STANDARD.decode(&self.pkcs8).map_err(|_| Error::Crypto("key encoding"));
        }
        sealer.open(&seal_context(tenant, &self.kid), &self.sealed)
    }
}

fn generate(sealer: &Sealer, tenant: &str, alg: Alg, now: u64) -> Result<StoredKey> {
    let rng = SystemRandom::new();
    let der: Vec<u8> = match alg {
        Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|k| k.as_der())
            .map_err(|_| Error::Crypto("rsa keygen"))?
            .as_ref()
            .to_vec(),
        Alg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Crypto("ec keygen"))?
            .as_ref()
            .to_vec(),
        Alg::EdDSA => {
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::Crypto("ed25519 keygen"))?.as_ref().to_vec()
        }
    };
    let kid = format!("{}-{}", alg.as_str().to_lowercase(), &secret::token_of(9));
    let sealed = sealer.seal(&seal_context(tenant, &kid), &der)?;
    Ok(StoredKey { kid, alg, pkcs8: String::new(), sealed, created_at: now, retired_at: None })
}

fn load(sealer: &Sealer, tenant: &str, k: &StoredKey) -> Result<SigningKey> {
    let der = k.der(sealer, tenant)?;
    let pair = match k.alg {
        Alg::RS256 => Pair::Rsa(RsaKeyPair::from_pkcs8(&der).map_err(|_| Error::Crypto("rsa key"))?),
        Alg::ES256 => Pair::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(|_| Error::Crypto("ec key"))?,
        ),
        Alg::EdDSA => Pair::Ed(Ed25519KeyPair::from_pkcs8(&der).map_err(|_| Error::Crypto("ed25519 key"))?),
    };
    Ok(SigningKey { kid: k.kid.clone(), alg: k.alg, retired_at: k.retired_at, pair })
}

/// The JOSE `typ` of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Key management: creation, rotation, and a cache of parsed keys.
pub struct Keys {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Seals private keys at rest.
    sealer: Arc<Sealer>,
    /// How long a retired key stays published: the longest token lifetime.
    retire_grace: u64,
    cache: RwLock<HashMap<String, Arc<KeyRing>>>,
}

impl Keys {
    pub fn new(store: Store, clock: Arc<dyn Clock>, sealer: Arc<Sealer>, retire_grace: u64) -> Self {
        Keys { store, clock, sealer, retire_grace, cache: RwLock::new(HashMap::new()) }
    }

    /// Verifies an access token of `tenant` (whose issuer URL is `issuer`): signature,
    /// type, issuer, expiry, revocation.
    pub async fn verify_access_token(&self, tenant: &str, issuer: &str, token: &str) -> Result<serde_json::Value> {
        let now = self.clock.now();
        let ring = self.ring(tenant).await?;
        let claims = crate::jwt::verify(&ring, token, Some(ACCESS_TOKEN_TYP), now)?;
        if claims["iss"].as_str() != Some(issuer) {
            return Err(Error::InvalidToken);
        }
        let jti = claims["jti"].as_str().ok_or(Error::InvalidToken)?;
        if crate::grant::revoked::is_revoked(&self.store, tenant, jti, now).await? {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// Seals, in place, any private key of the tenant still stored in plain text
    /// (records written before keys were sealed). Returns how many it sealed.
    pub async fn seal_plain(&self, tenant: &str) -> Result<usize> {
        let sealer = &self.sealer;
        self.store
            .update::<KeyRingRecord, _>(tenant, "ring", |old| {
                let Some(mut ring) = old else { return Ok((None, 0)) };
                let plain = ring.keys.iter().filter(|k| k.is_plain()).count();
                if plain == 0 {
                    return Ok((None, 0));
                }
                for k in &mut ring.keys {
                    k.seal(sealer, tenant)?;
                }
                Ok((Some(ring), plain))
            })
            .await
    }

    /// Creates the tenant's first keys if it has none.
    pub async fn ensure(&self, tenant: &str) -> Result<()> {
        if self.store.get::<KeyRingRecord>(tenant, "ring").await?.is_some() {
            return Ok(());
        }
        let now = self.clock.now();
        let keys = Alg::ALL.into_iter().map(|a| generate(&self.sealer, tenant, a, now)).collect::<Result<Vec<_>>>()?;
        self.store.insert_new(tenant, "ring", &KeyRingRecord { generation: 1, keys }).await?;
        Ok(())
    }

    /// Makes new active keys for every algorithm; the old ones retire and stay in the
    /// JWKS for the grace period. Keys retired longer than that are dropped.
    pub async fn rotate(&self, tenant: &str) -> Result<Vec<String>> {
        let now = self.clock.now();
        let fresh = Alg::ALL.into_iter().map(|a| generate(&self.sealer, tenant, a, now)).collect::<Result<Vec<_>>>()?;
        let grace = self.retire_grace;
        let kids = self
            .store
            .update::<KeyRingRecord, _>(tenant, "ring", |old| {
                let mut ring = old.ok_or(Error::NotFound(Resource::TenantKeys))?;
                ring.keys.retain(|k| k.retired_at.is_none_or(|r| r + grace > now));
                for k in ring.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
                    k.retired_at = Some(now);
                }
                for k in &mut ring.keys {
                    k.seal(&self.sealer, tenant)?;
                }
                ring.keys.extend(fresh.iter().cloned());
                ring.generation += 1;
                Ok((Some(ring), fresh.iter().map(|k| k.kid.clone()).collect()))
            })
            .await?;
        if let Ok(mut c) = self.cache.write() {
            c.remove(tenant);
        }
        Ok(kids)
    }

    /// The tenant's loaded key ring. Cached; at most once a second the cache compares
    /// its generation with the store, so a rotation by another process shows up.
    pub async fn ring(&self, tenant: &str) -> Result<Arc<KeyRing>> {
        use std::sync::atomic::Ordering;
        let now = self.clock.now();
        let cached = self.cache.read().ok().and_then(|c| c.get(tenant).cloned());
        if let Some(ring) = &cached
            && ring.checked_at.load(Ordering::Relaxed) >= now
        {
            return Ok(ring.clone());
        }
        let mut record =
            self.store.get::<KeyRingRecord>(tenant, "ring").await?.ok_or(Error::NotFound(Resource::Tenant))?;
        if record.keys.iter().any(StoredKey::is_plain) {
            self.seal_plain(tenant).await?;
            record = self.store.get::<KeyRingRecord>(tenant, "ring").await?.ok_or(Error::NotFound(Resource::Tenant))?;
        }
        if let Some(ring) = cached
            && ring.generation == record.generation
        {
            ring.checked_at.store(now, Ordering::Relaxed);
            return Ok(ring);
        }
        let grace = self.retire_grace;
        let keys = record
            .keys
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| r + grace > now))
            .map(|k| load(&self.sealer, tenant, k))
            .collect::<Result<Vec<_>>>()?;
        let ring = Arc::new(KeyRing {
            generation: record.generation,
            checked_at: std::sync::atomic::AtomicU64::new(now),
            keys,
        });
        if let Ok(mut c) = self.cache.write() {
            c.insert(tenant.to_string(), ring.clone());
        }
        Ok(ring)
    }
}

/// Base64url without padding, the JOSE encoding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The admin API's key operation, durable before it returns.
impl Keys {
    /// Stages a new signing key (see `rotate`), durably.
    pub async fn rotate_durably(&self, tenant: &str) -> Result<Vec<String>> {
        let kids = self.rotate(tenant).await?;
        self.store.commit().await?;
        Ok(kids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn keys(store: &Store, seal: u8) -> Keys {
        Keys::new(store.clone(), Arc::new(ManualClock::new()), Arc::new(Sealer::new([seal; 32])), 3600)
    }

    #[tokio::test]
    async fn o_private_keys_are_stored_sealed_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let k = keys(&store, 1);
        k.ensure("t").await.unwrap();
        let raw = store.get::<KeyRingRecord>("t", "ring").await.unwrap().unwrap();
        assert!(raw.keys.iter().all(|k| k.pkcs8.is_empty() && !k.sealed.is_empty()));
        assert!(!serde_json::to_string(&raw).unwrap().contains("pkcs8"));
        let ring = k.ring("t").await.unwrap();
        let key = ring.active(Alg::ES256).unwrap();
        assert!(key.verify(b"m", &key.sign(b"m").unwrap()));
        // Another seal key, or the same record under another tenant, does not open.
        assert!(keys(&store, 2).ring("t").await.is_err());
        store.put("u", "ring", &raw).await.unwrap();
        assert!(k.ring("u").await.is_err());
    }

    #[tokio::test]
    async fn o_plain_keys_of_an_old_store_load_and_are_sealed_on_first_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let k = keys(&store, 1);
        k.ensure("t").await.unwrap();
        // Rewrite the ring as an old version did: plain PKCS#8.
        let mut old = store.get::<KeyRingRecord>("t", "ring").await.unwrap().unwrap();
        for key in &mut old.keys {
            key.pkcs8 = STANDARD.encode(key.der(&Sealer::new([1; 32]), "t").unwrap());
            key.sealed.clear();
        }
        store.put("t", "ring", &old).await.unwrap();
        let fresh = keys(&store, 1);
        let ring = fresh.ring("t").await.unwrap();
        assert_eq!(ring.keys.len(), 3);
        let now = store.get::<KeyRingRecord>("t", "ring").await.unwrap().unwrap();
        assert!(now.keys.iter().all(|k| k.pkcs8.is_empty() && !k.sealed.is_empty()), "sealed in place");
        assert_eq!(fresh.seal_plain("t").await.unwrap(), 0);
    }
}
