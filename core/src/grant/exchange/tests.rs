//! The token endpoint's rules over a real store: `unauthorized_client` per grant,
//! and each grant's writes all in one transaction (everything or, on refusal,
//! nothing new), with parallel redemptions giving exactly one success.

use std::sync::Arc;

use serde_json::Value;

use crate::client::{Client, GrantType, NewClient};
use crate::device::Approval;
use crate::error::DevicePoll;
use crate::error::Error;
use crate::grant::code::{self, CodeRecord};
use crate::grant::family::{self, Family, RefreshToken};
use crate::grant::token_request::TokenRequest;
use crate::grant::tokens_kit::{Kit, T, kit};
use crate::grant::{OAuthCode, revoked};

const CB: &str = "https://app.example/cb";
const VERIFIER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

fn challenge() -> String {
    crate::keys::b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()).as_ref())
}

/// The unverified claims of a compact JWS.
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn client(k: &Kit, id: &str, grants: &[GrantType]) -> Client {
    let new = NewClient {
        id: id.into(),
        redirect_uris: vec![CB.into()],
        grant_types: grants.to_vec(),
        ..NewClient::default()
    };
    k.clients.create(k.clock.as_ref(), T, new).await.unwrap().0
}

/// The refresh tokens stored for `family`.
async fn refresh_tokens_of(k: &Kit, fam: &str) -> Vec<RefreshToken> {
    k.store
        .scan::<RefreshToken>(T, "")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.grant.family == fam)
        .collect()
}

async fn family_of(k: &Kit, fam: &str) -> Family {
    k.store.get::<Family>(T, fam).await.unwrap().unwrap()
}

/// P2 (RFC 6749 §5.2): a client not registered for a request's grant is refused
/// `unauthorized_client` before anything is read or written; a registered one gets
/// past that check to its grant's own answer.
#[tokio::test]
async fn p2_unauthorized_client_for_each_grant_the_client_is_not_registered_for() {
    use GrantType::*;
    let k = kit().await;
    let clients = [
        client(&k, "code-only", &[AuthorizationCode]).await,
        client(&k, "refresh-only", &[RefreshToken]).await,
        client(&k, "machine", &[ClientCredentials]).await,
        client(&k, "tv", &[DeviceCode]).await,
        client(&k, "none", &[]).await,
        k.mine.clone(),
    ];
    let requests = [
        TokenRequest::AuthorizationCode { code: "nope".into(), redirect_uri: Some(CB.into()), code_verifier: None },
        TokenRequest::RefreshToken { refresh_token: "nope".into(), scope: None },
        TokenRequest::ClientCredentials { scope: vec!["api".into()] },
        TokenRequest::DeviceCode { device_code: "nope".into() },
    ];
    for c in &clients {
        for req in &requests {
            let before = k.store.commits();
            let got = k.tokens.exchange(T, c, req.clone()).await;
            let grant = req.grant_type();
            match got {
                Ok(Err(e)) if e.code == OAuthCode::UnauthorizedClient => {
                    assert!(!c.allows(grant), "{} may use {grant:?}", c.id);
                    assert_eq!(e.description, "this client may not use this grant type");
                    assert_eq!(k.store.commits(), before, "a refusal before the grant writes nothing");
                }
                Ok(Ok(_)) => assert_eq!((c.id.as_str(), grant), ("machine", ClientCredentials)),
                Err(Error::InvalidGrant) => assert!(c.allows(grant), "{}: {grant:?}", c.id),
                other => panic!("{} {grant:?}: {other:?}", c.id),
            }
        }
    }
}

/// P2: one code exchange writes everything in one transaction (the code taken, the
/// access token's jti on the family, the refresh token live, the family's expiry) or,
/// refused, nothing: the code stays redeemable and the family learns nothing.
#[tokio::test]
async fn p2_a_code_exchange_writes_everything_or_nothing() {
    let k = kit().await;
    let grant = k.grant(&k.mine, &["openid", "offline_access"]).await;
    let fam = grant.family.clone();
    let c = code::issue(&k.store, T, grant, CB, Some(challenge()), k.now).await.unwrap();
    let digest = crate::secret::digest(&c);
    let refusals: [(&Client, Option<&str>, Option<&str>); 5] = [
        (&k.mine, Some(CB), Some("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIX")),
        (&k.mine, Some(CB), None),
        (&k.mine, Some("https://app.example/other"), Some(VERIFIER)),
        (&k.mine, None, Some(VERIFIER)),
        (&k.other, Some(CB), Some(VERIFIER)),
    ];
    for (who, redirect_uri, verifier) in refusals {
        let refused = k.tokens.exchange_code(T, who, &c, redirect_uri, verifier).await;
        assert!(matches!(refused, Err(Error::InvalidGrant)), "{redirect_uri:?} {verifier:?}: {refused:?}");
        assert!(!k.store.get::<CodeRecord>(T, &digest).await.unwrap().unwrap().redeemed, "the code is not taken");
        assert!(family_of(&k, &fam).await.access.is_empty(), "the family learnt no access token");
        assert!(refresh_tokens_of(&k, &fam).await.is_empty(), "no refresh token");
    }
    let expiry = family_of(&k, &fam).await.expires_at;

    let issued = k.tokens.exchange_code(T, &k.mine, &c, Some(CB), Some(VERIFIER)).await.unwrap();
    assert!(k.store.get::<CodeRecord>(T, &digest).await.unwrap().unwrap().redeemed, "the code is taken");
    let jti = payload(&issued.access_token)["jti"].as_str().unwrap().to_string();
    let f = family_of(&k, &fam).await;
    assert!(f.access.iter().any(|(j, _)| *j == jti), "the family knows the access token");
    assert!(f.expires_at >= k.now + k.mine.lifetimes.refresh_token && f.expires_at > expiry, "and lives longer");
    let rt = family::find(&k.store, T, issued.refresh_token.as_deref().unwrap(), k.now).await.unwrap().unwrap();
    assert_eq!((rt.grant.family.as_str(), rt.used), (fam.as_str(), false), "the refresh token is live");
    assert_eq!(refresh_tokens_of(&k, &fam).await.len(), 1);

    // Revoking the family revokes the access token the exchange issued.
    family::revoke(&k.store, T, &fam).await.unwrap();
    assert!(revoked::is_revoked(&k.store, T, &jti, k.now).await.unwrap());
}

/// P2 (RFC 6749 §4.1.2, RFC 9700 §4.14.2): parallel redemptions of one code give
/// exactly one success; the losers are reuses and revoke the family, the winner's
/// access token included (it was on the family when they looked).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn p2_parallel_code_redemptions_give_exactly_one_success() {
    let k = kit().await;
    let grant = k.grant(&k.mine, &["openid"]).await;
    let fam = grant.family.clone();
    let c = code::issue(&k.store, T, grant, CB, None, k.now).await.unwrap();
    let k = Arc::new(k);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (k, c) = (k.clone(), c.clone());
            tokio::spawn(async move { k.tokens.redeem_code(T, &k.mine, &c, Some(CB), None).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(Error::InvalidGrant))));
    assert!(!family::is_live(&k.store, T, &fam, k.now).await.unwrap(), "the reuses revoked the family");
    let jti = payload(&won[0].access_token)["jti"].as_str().unwrap().to_string();
    assert!(revoked::is_revoked(&k.store, T, &jti, k.now).await.unwrap(), "the winner's access token too");
}

/// P2: parallel rotations of one refresh token give exactly one new token; the
/// others are reuses that revoke the family.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn p2_parallel_refresh_rotations_give_exactly_one_success() {
    let k = kit().await;
    let (token, fam) = k.refresh_of(&k.mine).await;
    let k = Arc::new(k);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (k, token) = (k.clone(), token.clone());
            tokio::spawn(async move { k.tokens.rotate_refresh(T, &k.mine, &token, None).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count(), 1, "{results:?}");
    assert!(results.iter().filter(|r| !matches!(r, Ok(Ok(_)))).all(|r| matches!(r, Err(Error::InvalidGrant))));
    assert!(!family::is_live(&k.store, T, &fam, k.now).await.unwrap());
}

/// P8 (RFC 8628 §3.5): a pending poll writes only its bookkeeping and no family; the
/// approved one redeems the device code, opens the family with the access token and
/// stores the refresh token, together; the next poll is `invalid_grant`.
#[tokio::test]
async fn p8_a_device_code_redemption_writes_everything_once() {
    let k = kit().await;
    let tv = client(&k, "tv", &[GrantType::DeviceCode, GrantType::RefreshToken]).await;
    let started = k.tokens.devices.start(T, "tv", vec!["openid".into()], None, None, k.now).await.unwrap();
    async fn families(k: &Kit) -> impl Iterator<Item = (String, Family)> {
        k.store.scan::<Family>(T, "").await.unwrap().into_iter().filter(|(_, f)| f.client_id == "tv")
    }
    let pending = k.tokens.device_code(T, &tv, &started.device_code).await;
    assert!(matches!(pending, Err(Error::DeviceFlow(DevicePoll::AuthorizationPending))), "{pending:?}");
    assert_eq!(families(&k).await.count(), 0, "a pending poll opens no family");
    let approval = Approval {
        account_id: k.account_id.clone(),
        auth_time: k.now,
        amr: vec!["pwd".into()],
        acr: "1".into(),
        sid: "s".into(),
    };
    k.tokens.devices.approve(T, &started.user_code, approval, "TV", None, k.now).await.unwrap();
    k.clock.advance(10);
    let issued = k.tokens.device_code(T, &tv, &started.device_code).await.unwrap();
    let (fam, f) = families(&k).await.next().unwrap();
    let jti = payload(&issued.access_token)["jti"].as_str().unwrap().to_string();
    assert!(f.access.iter().any(|(j, _)| *j == jti), "the family knows the access token");
    assert_eq!(refresh_tokens_of(&k, &fam).await.len(), 1, "the refresh token is stored");
    let again = k.tokens.device_code(T, &tv, &started.device_code).await;
    assert!(matches!(again, Err(Error::InvalidGrant)), "{again:?}");
    assert_eq!(families(&k).await.count(), 1, "exactly once");
}
