use crate::{Field, Resource};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use super::*;
use crate::clock::ManualClock;

const T: &str = "t";
const A: &str = "100000001";
const B: &str = "200000002";

struct Kit {
    passkeys: Passkeys,
    store: Store,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

fn kit() -> Kit {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = Arc::new(ManualClock::new());
    let sealer = Arc::new(Sealer::new([7; 32]));
    Kit { passkeys: Passkeys::new(store.clone(), clock.clone(), sealer), store, clock, _dir: dir }
}

fn rp(public_url: &str) -> Rp {
    Rp::from_public_url(&Url::parse(public_url).unwrap(), "Acme").unwrap()
}

/// A software authenticator. `true` makes it claim user verification, which
/// passkey ceremonies require; without it SoftPasskey refuses (NotSupported).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// What a browser's `navigator.credentials.create` returns, at `origin`.
fn create(key: &mut SoftPasskey, origin: &str, options: Value) -> Value {
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = key.do_registration(Url::parse(origin).unwrap(), options).unwrap();
    serde_json::to_value(credential).unwrap()
}

/// What a browser's `navigator.credentials.get` returns, at `origin`.
fn get(key: &mut SoftPasskey, origin: &str, options: Value) -> Value {
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let assertion = key.do_authentication(Url::parse(origin).unwrap(), options).unwrap();
    serde_json::to_value(assertion).unwrap()
}

/// Registers a new passkey for `account` at the RP's own origin.
async fn register(k: &Kit, rp: &Rp, key: &mut SoftPasskey, account: &str, label: &str) -> PasskeyInfo {
    let (id, options) = k.passkeys.start_registration(T, rp, account, "ann@example.com", "Ann").await.unwrap();
    let credential = create(key, rp.origin.as_str(), options);
    k.passkeys.finish_registration(T, rp, account, &id, credential, label).await.unwrap()
}

fn rejected<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::PasskeyRejected))
}

#[tokio::test]
async fn r20_register_then_sign_in_on_a_loopback_port() {
    let k = kit();
    let rp = rp("http://localhost:41873/some/path");
    assert_eq!(rp.origin.as_str(), "http://localhost:41873/");
    let mut key = authenticator();
    let info = register(&k, &rp, &mut key, A, "").await;
    assert_eq!(info.label, "Passkey");
    assert_eq!(k.passkeys.count(T, A).await.unwrap(), 1);

    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    let assertion = get(&mut key, "http://localhost:41873", options);
    let done = k.passkeys.finish_authentication(T, &rp, &id, assertion).await.unwrap();
    assert_eq!(done, Authenticated { account_id: A.into(), passkey_id: info.id, user_verified: true });
}

#[tokio::test]
async fn r20_an_ip_address_cannot_be_the_relying_party() {
    let url = Url::parse("http://127.0.0.1:8080").unwrap();
    assert!(matches!(Rp::from_public_url(&url, "Acme"), Err(Error::Invalid { field: Field::PublicUrl, .. })));
}

#[tokio::test]
async fn r20_assertion_for_another_origin_is_rejected() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    register(&k, &rp, &mut key, A, "Laptop").await;
    // The authenticator accepts both (the RP id is a suffix of their host); we don't.
    for origin in ["https://id.example.com:8443", "https://login.id.example.com"] {
        let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
        let assertion = get(&mut key, origin, options);
        assert!(rejected(k.passkeys.finish_authentication(T, &rp, &id, assertion).await), "{origin}");
    }
    // Registration too.
    let (id, options) = k.passkeys.start_registration(T, &rp, A, "ann", "Ann").await.unwrap();
    let credential = create(&mut key, "https://login.id.example.com", options);
    assert!(rejected(k.passkeys.finish_registration(T, &rp, A, &id, credential, "x").await));
    assert_eq!(k.passkeys.count(T, A).await.unwrap(), 1);
}

#[tokio::test]
async fn r20_a_ceremony_id_cannot_be_used_twice() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    let (id, options) = k.passkeys.start_registration(T, &rp, A, "ann", "Ann").await.unwrap();
    let credential = create(&mut key, "https://id.example.com", options);
    k.passkeys.finish_registration(T, &rp, A, &id, credential.clone(), "Laptop").await.unwrap();
    assert!(rejected(k.passkeys.finish_registration(T, &rp, A, &id, credential, "Laptop").await));

    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    let assertion = get(&mut key, "https://id.example.com", options);
    k.passkeys.finish_authentication(T, &rp, &id, assertion.clone()).await.unwrap();
    assert!(rejected(k.passkeys.finish_authentication(T, &rp, &id, assertion).await));

    // A sign-in ceremony does not finish a registration, and a failure uses it up.
    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    let assertion = get(&mut key, "https://id.example.com", options);
    assert!(rejected(k.passkeys.finish_registration(T, &rp, A, &id, assertion.clone(), "x").await));
    assert!(rejected(k.passkeys.finish_authentication(T, &rp, &id, assertion).await));
}

#[tokio::test]
async fn r20_a_ceremony_expires_after_five_minutes() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    register(&k, &rp, &mut key, A, "Laptop").await;
    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    let assertion = get(&mut key, "https://id.example.com", options);
    k.clock.advance(CEREMONY_TTL);
    assert!(rejected(k.passkeys.finish_authentication(T, &rp, &id, assertion).await));
}

#[tokio::test]
async fn r20_a_removed_passkey_cannot_sign_in() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    let info = register(&k, &rp, &mut key, A, "Laptop").await;
    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    assert!(!k.passkeys.remove(T, B, &info.id).await.unwrap(), "not B's");
    assert!(k.passkeys.remove(T, A, &info.id).await.unwrap());
    assert!(!k.passkeys.remove(T, A, &info.id).await.unwrap());
    let assertion = get(&mut key, "https://id.example.com", options);
    assert!(rejected(k.passkeys.finish_authentication(T, &rp, &id, assertion).await));
    assert!(matches!(k.passkeys.start_authentication(T, &rp, A).await, Err(Error::NotFound(Resource::Passkey))));
    assert!(k.passkeys.list(T, A).await.unwrap().is_empty());
}

#[tokio::test]
async fn r20_the_list_shows_label_and_last_use() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut laptop = authenticator();
    let mut phone = authenticator();
    let first = register(&k, &rp, &mut laptop, A, "  Laptop ").await;
    k.clock.advance(10);
    let second = register(&k, &rp, &mut phone, A, "Phone").await;
    let long = "x".repeat(MAX_LABEL + 1);
    let (id, options) = k.passkeys.start_registration(T, &rp, A, "ann", "Ann").await.unwrap();
    let credential = create(&mut phone, "https://id.example.com", options);
    assert!(matches!(
        k.passkeys.finish_registration(T, &rp, A, &id, credential, &long).await,
        Err(Error::Invalid { field: Field::Label, .. })
    ));

    k.clock.advance(10);
    let (id, options) = k.passkeys.start_authentication(T, &rp, A).await.unwrap();
    let assertion = get(&mut phone, "https://id.example.com", options);
    assert_eq!(k.passkeys.finish_authentication(T, &rp, &id, assertion).await.unwrap().passkey_id, second.id);

    let list = k.passkeys.list(T, A).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0].label.as_str(), list[0].last_used_at), ("Laptop", None));
    assert_eq!(list[0], first);
    assert_eq!((list[1].label.as_str(), list[1].last_used_at), ("Phone", Some(k.clock.now())));
    assert_eq!(list[1].created_at + 10, k.clock.now());
}

#[tokio::test]
async fn r20_another_account_cannot_finish_the_ceremony() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    let (id, options) = k.passkeys.start_registration(T, &rp, A, "ann", "Ann").await.unwrap();
    let credential = create(&mut key, "https://id.example.com", options);
    assert!(rejected(k.passkeys.finish_registration(T, &rp, B, &id, credential.clone(), "x").await));
    assert!(rejected(k.passkeys.finish_registration(T, &rp, A, &id, credential, "x").await), "used up");
    assert_eq!(k.passkeys.count(T, A).await.unwrap() + k.passkeys.count(T, B).await.unwrap(), 0);
}

#[tokio::test]
async fn r20_a_credential_id_is_registered_once_per_tenant() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    let existing = register(&k, &rp, &mut key, A, "Laptop").await;
    let (_, options) = k.passkeys.start_registration(T, &rp, A, "ann", "Ann").await.unwrap();
    let excluded = &options["publicKey"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], existing.id.as_str());

    // Another account's browser returns a credential whose id is already taken.
    let (id_b, options) = k.passkeys.start_registration(T, &rp, B, "bob", "Bob").await.unwrap();
    let credential = create(&mut key, "https://id.example.com", options);
    let taken = credential["id"].as_str().unwrap().to_string();
    k.store.put(T, &taken, &PasskeyOwner { account_id: A.into() }).await.unwrap();
    assert!(rejected(k.passkeys.finish_registration(T, &rp, B, &id_b, credential, "x").await));
    assert_eq!(k.passkeys.count(T, B).await.unwrap(), 0);
}

#[test]
fn r20_the_user_handle_is_stable_per_tenant_and_account() {
    assert_eq!(user_handle(T, A), user_handle(T, A));
    assert_ne!(user_handle(T, A), user_handle(T, B));
    assert_ne!(user_handle(T, A), user_handle("u", A));
    assert_eq!(user_handle(T, A).get_version_num(), 8);
}

/// The shape of a JSON value: object keys with their shapes, the first array
/// element's shape, and the type of anything else.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::String(s) => Value::String(format!("string of {}", if s.len() == 43 { "43" } else { "other" })),
        Value::Number(_) => Value::String("number".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Null => Value::Null,
    }
}

#[tokio::test]
async fn r36_an_identifier_without_passkeys_gets_a_stable_decoy_shaped_like_a_real_challenge() {
    let k = kit();
    let rp = rp("https://id.example.com");
    let mut key = authenticator();
    register(&k, &rp, &mut key, A, "Laptop").await;
    let (real_id, real) = k.passkeys.start_sign_in(T, &rp, Some(A), "email:ann@example.com").await.unwrap();
    let (decoy_id, decoy) = k.passkeys.start_sign_in(T, &rp, None, "email:nobody@example.com").await.unwrap();
    let (_, again) = k.passkeys.start_sign_in(T, &rp, None, "email:nobody@example.com").await.unwrap();
    let (_, no_passkey) = k.passkeys.start_sign_in(T, &rp, Some(B), "email:bob@example.com").await.unwrap();

    // The decoy parses as request options, and differs from a real one only in values.
    let _: RequestChallengeResponse = serde_json::from_value(decoy.clone()).unwrap();
    let mut without_transports = decoy.clone();
    for c in without_transports["publicKey"]["allowCredentials"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("transports");
    }
    let mut real_without = real.clone();
    for c in real_without["publicKey"]["allowCredentials"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("transports");
    }
    let (mut a, mut b) = (shape(&real_without), shape(&without_transports));
    // Credential ids vary in length between authenticators; so do the decoys'.
    a["publicKey"]["allowCredentials"] = json!("ids");
    b["publicKey"]["allowCredentials"] = json!("ids");
    assert_eq!(a, b, "real {real}\ndecoy {decoy}");
    assert_eq!(decoy["publicKey"]["allowCredentials"], again["publicKey"]["allowCredentials"], "stable per identifier");
    assert_ne!(decoy["publicKey"]["challenge"], again["publicKey"]["challenge"], "a fresh challenge each time");
    assert_ne!(decoy["publicKey"]["allowCredentials"], no_passkey["publicKey"]["allowCredentials"]);

    // Whose sign-in each ceremony is, and a decoy never verifies.
    assert_eq!(k.passkeys.sign_in_for(T, &real_id).await.unwrap(), Some(SignInFor::Account(A.into())));
    let who = k.passkeys.sign_in_for(T, &decoy_id).await.unwrap();
    assert_eq!(who, Some(SignInFor::Unknown("email:nobody@example.com".into())));
    let assertion = get(&mut key, rp.origin.as_str(), real);
    assert!(rejected(k.passkeys.finish_authentication(T, &rp, &decoy_id, assertion.clone()).await));
    assert!(k.passkeys.finish_authentication(T, &rp, &real_id, assertion).await.is_ok());
}
