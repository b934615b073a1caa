//! Cost floors of the two hot paths, on one core: the argon2id verification a password
//! sign-in pays (default OWASP parameters: 19 MiB, t=2, p=1), and one JWT signature per
//! algorithm (RS256, ES256, EdDSA) through `latchkey_core::jwt::sign` with a tenant's
//! keys, plus an ID token through openidconnect (`at_hash`): the same bytes core's
//! `grant::id_token::sign` writes for the provider (`oidc::issuer` tests compare them).
//! No request can be cheaper than these; `scripts/load.sh` prints its rates next to them.
//!
//! Run: `cargo bench -p latchkey --bench floors` (add `-- --quick`, or a filter such as
//! `-- jwt_sign`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use latchkey::oidc::issuer::{LatchkeyClaims, LatchkeyIdToken};
use latchkey::oidc::signing::{OidcKey, jws_alg};
use latchkey_core::credential::password::{HashParams, Passwords};
use latchkey_core::keys::{Alg, KeyRing, Keys};
use latchkey_core::{Store, SystemClock, jwt};
use openidconnect::{
    AccessToken, Audience, AuthenticationContextClass, AuthenticationMethodReference, ClientId, EndUserEmail,
    IdTokenClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use serde_json::json;

const TENANT: &str = "bench";
const PASSWORD: &str = "correct horse battery";

/// A tenant key ring in a throwaway store. The store (and the runtime it runs on)
/// must outlive it.
async fn key_ring(dir: &std::path::Path) -> Arc<KeyRing> {
    let store = Store::open(&dir.join("store")).expect("open store");
    let keys = Keys::new(store, Arc::new(SystemClock), Arc::new(latchkey_core::seal::Sealer::new([1; 32])), 3600);
    keys.ensure(TENANT).await.expect("create keys");
    keys.ring(TENANT).await.expect("load keys")
}

fn jwt_sign(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ring = rt.block_on(key_ring(dir.path()));
    // An access token's claims, as the provider signs them (RFC 9068).
    let claims = json!({
        "iss": "http://127.0.0.1:8080/t/default", "sub": "svc", "aud": "svc", "client_id": "svc",
        "exp": 1_900_000_600u64, "iat": 1_900_000_000u64, "jti": "0123456789abcdef0123456789abcdef", "scope": "",
    });
    let mut g = c.benchmark_group("jwt_sign");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for alg in Alg::ALL {
        let key = ring.active(alg).unwrap();
        g.bench_function(BenchmarkId::from_parameter(alg.as_str()), |b| {
            b.iter(|| jwt::sign(key, "at+jwt", black_box(&claims)).unwrap())
        });
    }
    g.finish();

    // An ID token with the claims of a password sign-in, signed via openidconnect.
    let at = jwt::sign(ring.active(Alg::ES256).unwrap(), "at+jwt", &claims).unwrap();
    let time = |t: i64| Utc.timestamp_opt(t, 0).single().unwrap();
    let id_claims = IdTokenClaims::new(
        IssuerUrl::new("http://127.0.0.1:8080/t/default".into()).unwrap(),
        vec![Audience::new("web".into())],
        time(1_900_000_600),
        time(1_900_000_000),
        StandardClaims::new(SubjectIdentifier::new("acct-0123456789abcdef".into()))
            .set_email(Some(EndUserEmail::new("load@example.com".into())))
            .set_email_verified(Some(false)),
        LatchkeyClaims { sid: Some("sid-0123456789abcdef".into()), ..Default::default() },
    )
    .set_auth_time(Some(time(1_900_000_000)))
    .set_nonce(Some(Nonce::new("n".into())))
    .set_auth_context_ref(Some(AuthenticationContextClass::new("0".into())))
    .set_auth_method_refs(Some(vec![AuthenticationMethodReference::new("pwd".into())]))
    .set_authorized_party(Some(ClientId::new("web".into())));
    let access = AccessToken::new(at);
    let mut g = c.benchmark_group("id_token");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for alg in Alg::ALL {
        let key = ring.active(alg).unwrap();
        g.bench_function(BenchmarkId::from_parameter(alg.as_str()), |b| {
            b.iter(|| {
                LatchkeyIdToken::new(black_box(id_claims.clone()), &OidcKey(key), jws_alg(alg), Some(&access), None)
                    .unwrap()
                    .to_string()
            })
        });
    }
    g.finish();
}

fn argon2id(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let params = HashParams::default();
    let passwords = Passwords::new(params, 1).unwrap();
    let phc = rt.block_on(passwords.hash(PASSWORD)).unwrap();
    let mut g = c.benchmark_group("argon2id");
    // ~20 ms per call: flat sampling, few samples.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let name = format!("verify_m{}_t{}_p{}", params.memory_kib, params.iterations, params.parallelism);
    g.bench_function(name, |b| {
        b.iter(|| assert!(rt.block_on(passwords.verify(Some(&phc), black_box(PASSWORD))).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, jwt_sign, argon2id);
criterion_main!(benches);
