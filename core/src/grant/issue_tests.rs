//! The issuance rules of `grant::issue` over a real store: refresh rotation and
//! reuse, scope narrowing, the claims each scope releases, reserved claims, which
//! clients get refresh tokens, client credentials.

use serde_json::{Map, Value, json};

use super::tokens_kit::{EMAIL, T, kit};
use crate::client::{GrantType, NewClient};
use crate::error::Error;
use crate::grant::family;
use crate::grant::{OAuthCode, code};
use crate::jwt;

const VERIFIER: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

fn scopes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The unverified claims of a compact JWS.
fn payload(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn challenge() -> String {
    crate::keys::b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()).as_ref())
}

/// P2 (RFC 9700 §4.14.2): each refresh rotates the token; presenting a rotated one
/// revokes the family (its refresh tokens and its access tokens), and that refusal is
/// made durable before it is returned.
#[tokio::test]
async fn p2_refresh_rotates_and_a_reuse_revokes_the_family_durably() {
    let k = kit().await;
    let grant = k.grant(&k.mine, &["openid", "profile"]).await;
    let fam = grant.family.clone();
    let c = code::issue(&k.store, T, grant, "https://app.example/cb", Some(challenge()), k.now).await.unwrap();
    let first = k.tokens.exchange_code(T, &k.mine, &c, Some("https://app.example/cb"), Some(VERIFIER)).await.unwrap();
    let rt1 = first.refresh_token.clone().unwrap();
    let second = k.tokens.refresh(T, &k.mine, &rt1, None).await.unwrap().unwrap();
    let rt2 = second.refresh_token.clone().unwrap();
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(second.scope, "openid profile");

    let before = k.store.commits();
    let reused = k.tokens.refresh(T, &k.mine, &rt1, None).await;
    assert!(matches!(reused, Err(Error::InvalidGrant)), "{reused:?}");
    assert!(k.store.commits() > before, "the revocation is committed before the refusal");
    assert!(!family::is_live(&k.store, T, &fam, k.now).await.unwrap(), "the family is revoked");
    assert!(matches!(k.tokens.refresh(T, &k.mine, &rt2, None).await, Err(Error::InvalidGrant)), "rt2 dies too");
    let issuer = "https://id.example/t/t";
    assert!(k.keys.verify_access_token(T, issuer, &second.access_token).await.is_err(), "its access tokens too");
    assert!(k.keys.verify_access_token(T, issuer, &first.access_token).await.is_err());

    // A reused code revokes what its first redemption issued, durably as well.
    let grant = k.grant(&k.mine, &["openid"]).await;
    let fam = grant.family.clone();
    let c = code::issue(&k.store, T, grant, "https://app.example/cb", None, k.now).await.unwrap();
    k.tokens.exchange_code(T, &k.mine, &c, Some("https://app.example/cb"), None).await.unwrap();
    let before = k.store.commits();
    let again = k.tokens.exchange_code(T, &k.mine, &c, Some("https://app.example/cb"), None).await;
    assert!(matches!(again, Err(Error::InvalidGrant)));
    assert!(k.store.commits() > before);
    assert!(!family::is_live(&k.store, T, &fam, k.now).await.unwrap());
}

/// P2 (RFC 6749 §6): a narrower `scope` narrows only the tokens issued now; the next
/// refresh token still carries the whole grant. A wider one is `invalid_scope` and
/// leaves the token usable. Another client's token is `invalid_grant`.
#[tokio::test]
async fn p2_refresh_scope_narrows_this_issue_only_and_never_widens() {
    let k = kit().await;
    let grant = k.grant(&k.mine, &["openid", "email"]).await;
    let rt = family::issue_refresh(&k.store, T, &grant, k.now, 3600).await.unwrap();
    let wider = k.tokens.refresh(T, &k.mine, &rt, Some(&scopes(&["openid", "phone"]))).await.unwrap();
    assert_eq!(wider.unwrap_err().code, OAuthCode::InvalidScope);
    let stolen = k.tokens.refresh(T, &k.other, &rt, None).await;
    assert!(matches!(stolen, Err(Error::InvalidGrant)));
    let narrow = k.tokens.refresh(T, &k.mine, &rt, Some(&scopes(&["openid"]))).await.unwrap().unwrap();
    assert_eq!(narrow.scope, "openid");
    assert_eq!(payload(&narrow.access_token)["scope"], json!("openid"));
    assert_eq!(payload(narrow.id_token.as_deref().unwrap()).get("email"), None, "email not released now");
    let whole = k.tokens.refresh(T, &k.mine, &narrow.refresh_token.unwrap(), None).await.unwrap().unwrap();
    assert_eq!(whole.scope, "openid email", "the grant kept its scopes");
    assert_eq!(payload(whole.id_token.as_deref().unwrap())["email"], json!(EMAIL));
}

/// OIDC Core §5.4 + R14: the ID token carries the standard claims its scopes release
/// and the developer claims only with `profile` or `developer`; without `openid`
/// there is no ID token at all.
#[tokio::test]
async fn r14_id_token_claims_follow_the_scopes() {
    let k = kit().await;
    let issue = async |s: &[&str]| {
        k.tokens.mint(T, &k.mine, &k.grant(&k.mine, s).await, &scopes(s), k.now).await.unwrap().issued
    };
    let bare = payload(issue(&["openid"]).await.id_token.as_deref().unwrap());
    for absent in ["email", "email_verified", "preferred_username", "review_status", "name", "updated_at"] {
        assert_eq!(bare.get(absent), None, "{absent} without its scope");
    }
    assert_eq!((bare["sub"].as_str(), bare["nonce"].as_str()), (Some(k.account_id.as_str()), Some("n-1")));
    assert_eq!((bare["aud"].clone(), bare["azp"].clone()), (json!(["mine"]), json!("mine")));
    let email = payload(issue(&["openid", "email"]).await.id_token.as_deref().unwrap());
    assert_eq!((email["email"].clone(), email["email_verified"].clone()), (json!(EMAIL), json!(false)));
    let profile = payload(issue(&["openid", "profile"]).await.id_token.as_deref().unwrap());
    assert_eq!(profile["preferred_username"], json!("alice"));
    assert_eq!(profile["review_status"], json!("not_submitted"), "profile releases the developer claims");
    assert_eq!(profile.get("name"), None, "the ID token carries no name claim (userinfo does)");
    let developer = payload(issue(&["openid", "developer"]).await.id_token.as_deref().unwrap());
    assert_eq!(developer["review_status"], json!("not_submitted"));
    assert_eq!(developer.get("preferred_username"), None);
    assert!(issue(&["profile"]).await.id_token.is_none(), "no openid, no ID token");
}

/// W2: claims a plugin adds never replace the ones Latchkey sets in the ID token.
#[tokio::test]
async fn w2_plugin_claims_never_replace_id_token_claims() {
    let k = kit().await;
    let grant = k.grant(&k.mine, &["openid"]).await;
    let mut forged = Map::new();
    for name in ["iss", "sub", "aud", "exp", "iat", "nonce", "acr", "amr", "azp", "sid", "auth_time", "at_hash"] {
        forged.insert(name.into(), json!("forged"));
    }
    forged.insert("team".into(), json!("blue"));
    let claims = k.tokens.id_token_claims(T, &k.mine, &grant, &grant.scopes, forged).await.unwrap();
    let v = serde_json::to_value(&claims).unwrap();
    assert!(!serde_json::to_string(&claims).unwrap().contains("forged"), "{v}");
    assert_eq!(v["sub"], json!(k.account_id));
    assert_eq!(v["team"], json!("blue"), "other claims are added");
}

/// offline_access and refresh tokens: only a client registered for the
/// refresh_token grant gets one; client credentials never name a person (no
/// `openid`, no `offline_access`), are refused to public clients, and write nothing.
#[tokio::test]
async fn p2_refresh_tokens_only_for_refresh_clients_and_client_credentials_name_no_person() {
    let k = kit().await;
    let no_refresh = NewClient {
        id: "norefresh".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: vec![GrantType::AuthorizationCode],
        ..NewClient::default()
    };
    let (plain, _) = k.clients.create(k.clock.as_ref(), T, no_refresh).await.unwrap();
    let offline = scopes(&["openid", "offline_access"]);
    let issued = k
        .tokens
        .mint(T, &plain, &k.grant(&plain, &["openid", "offline_access"]).await, &offline, k.now)
        .await
        .unwrap()
        .issued;
    assert!(issued.refresh_token.is_none(), "not registered for refresh_token");
    let issued = k
        .tokens
        .mint(T, &k.mine, &k.grant(&k.mine, &["openid"]).await, &scopes(&["openid"]), k.now)
        .await
        .unwrap()
        .issued;
    assert!(issued.refresh_token.is_some());

    let before = k.store.commits();
    for bad in [&["openid"][..], &["offline_access"], &["api", "openid"]] {
        let refused = k.tokens.client_credentials(T, &k.mine, &scopes(bad)).await.unwrap().unwrap_err();
        assert_eq!(refused.code, OAuthCode::InvalidScope, "{bad:?}");
    }
    let public = NewClient {
        id: "spa".into(),
        public: true,
        redirect_uris: vec!["https://app.example/cb".into()],
        ..NewClient::default()
    };
    let (public, _) = k.clients.create(k.clock.as_ref(), T, public).await.unwrap();
    let refused = k.tokens.client_credentials(T, &public, &scopes(&["api"])).await.unwrap().unwrap_err();
    assert_eq!(refused.code, OAuthCode::UnauthorizedClient);
    let ok = k.tokens.client_credentials(T, &k.mine, &scopes(&["api"])).await.unwrap().unwrap();
    assert!(ok.id_token.is_none() && ok.refresh_token.is_none());
    let ring = k.keys.ring(T).await.unwrap();
    let at = jwt::verify(&ring, &ok.access_token, Some(crate::keys::ACCESS_TOKEN_TYP), k.now).unwrap();
    assert_eq!((at["sub"].as_str(), at["scope"].as_str()), (Some("mine"), Some("api")));
    assert_eq!(k.store.commits(), before, "client credentials write nothing");
}
