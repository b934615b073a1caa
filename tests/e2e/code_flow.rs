//! The authorization code flow as a certified-style relying party walks it.

use openidconnect::core::{CoreAuthenticationFlow, CoreJwsSigningAlgorithm, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kit::{Server, field, location, no_redirects, query};

/// Runs code + PKCE + nonce for `client` and returns (tokens, nonce).
async fn sign_in(
    s: &Server,
    client: &str,
    alg: Option<CoreJwsSigningAlgorithm>,
) -> (openidconnect::core::CoreTokenResponse, Nonce, String) {
    let user = s.add_user(&format!("{client}@example.com")).await;
    let rp = s.rp(client, Some(crate::kit::SECRET)).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = s.browser();
    let back = browser.authorize_with_login(&s.issuer(), url.as_str(), &format!("{client}@example.com")).await;
    let q = query(&back);
    assert!(back.starts_with(crate::kit::REDIRECT));
    assert_eq!(q["state"], *csrf.secret());
    assert_eq!(q["iss"], s.issuer(), "RFC 9207 iss in the authorization response");
    let http = no_redirects();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let mut verifier = rp.id_token_verifier();
    if let Some(a) = alg {
        verifier = verifier.set_allowed_algs(vec![a]);
    }
    let claims = id_token.claims(&verifier, &nonce).expect("ID token verifies against JWKS");
    assert_eq!(claims.subject().as_str(), user);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.nonce().map(|n| n.secret()), Some(nonce.secret()));
    assert!(claims.auth_context_ref().is_some(), "acr");
    assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");
    let at_hash = claims.access_token_hash().expect("at_hash");
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(*at_hash, expected);
    (tokens, nonce, user)
}

fn payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn p2_p4_code_flow_with_pkce_and_nonce_rs256() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (tokens, _, user) = sign_in(&s, "web", None).await;
    let id = tokens.id_token().unwrap().to_string();
    assert_eq!(header(&id)["alg"], "RS256");
    let claims = payload(&id);
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid claim");
    assert_eq!(claims["email"], "web@example.com");
    // RFC 9068 access token.
    let at = tokens.access_token().secret();
    assert_eq!(header(at)["typ"], "at+jwt");
    assert_eq!(payload(at)["sub"], user);
    assert_eq!(payload(at)["client_id"], "web");
    assert!(tokens.refresh_token().is_some());
}

#[tokio::test]
async fn p4_eddsa_and_es256_id_tokens_verify_against_jwks() {
    let s = Server::start().await;
    s.add_client("ed", json!({ "id_token_alg": "EdDSA" })).await;
    s.add_client("ec", json!({ "id_token_alg": "ES256" })).await;
    let (t, _, _) = sign_in(&s, "ed", Some(CoreJwsSigningAlgorithm::EdDsa)).await;
    assert_eq!(header(&t.id_token().unwrap().to_string())["alg"], "EdDSA");
    let (t, _, _) = sign_in(&s, "ec", Some(CoreJwsSigningAlgorithm::EcdsaP256Sha256)).await;
    assert_eq!(header(&t.id_token().unwrap().to_string())["alg"], "ES256");
}

#[tokio::test]
async fn p5_userinfo_by_get_and_post_releases_claims_by_scope() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let (tokens, _, user) = sign_in(&s, "web", None).await;
    let rp = s.rp("web", Some(crate::kit::SECRET)).await;
    let info: CoreUserInfoClaims =
        rp.user_info(tokens.access_token().clone(), None).unwrap().request_async(&no_redirects()).await.unwrap();
    assert_eq!(info.subject().as_str(), user);
    assert_eq!(info.email().unwrap().as_str(), "web@example.com");
    assert!(info.phone_number().is_none(), "phone scope was not asked for");
    let r = no_redirects().post(s.t("/userinfo")).bearer_auth(tokens.access_token().secret()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["sub"], user);
    let r = no_redirects().get(s.t("/userinfo")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn p1_discovery_and_jwks_per_tenant() {
    let s = Server::start().await;
    let other = s.add_tenant("other").await;
    let meta: Value =
        no_redirects().get(s.t("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(meta["issuer"], s.issuer());
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    for key in
        ["end_session_endpoint", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint", "token_endpoint"]
    {
        assert!(meta[key].as_str().unwrap().starts_with(&s.issuer()), "{key}");
    }
    let jwks: Value =
        no_redirects().get(meta["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let kinds: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kty"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RSA", "EC", "OKP"]);
    let other_jwks: Value =
        no_redirects().get(s.url(&format!("/t/{other}/jwks"))).send().await.unwrap().json().await.unwrap();
    assert_ne!(jwks["keys"][0]["kid"], other_jwks["keys"][0]["kid"], "each tenant has its own keys");
    let r = no_redirects().get(s.url("/t/nope/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn p2_form_post_response_mode_posts_code_and_iss() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("fp@example.com").await;
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&scope=openid&state=xyz&response_mode=form_post",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let (csrf, flow, _) = b.open_login(&url).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, "fp@example.com", crate::kit::PASSWORD).await;
    let r = b.get(&location(&r)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{}\"", crate::kit::REDIRECT.replace('/', "&#x2f;"))), "{html}");
    assert_eq!(field(&html, "state"), "xyz");
    assert_eq!(field(&html, "iss"), s.issuer().replace('/', "&#x2f;"));
    assert!(!field(&html, "code").is_empty());
}

#[tokio::test]
async fn p2_consent_is_asked_for_third_party_clients_and_remembered() {
    let s = Server::start().await;
    s.add_client("third", json!({ "first_party": false })).await;
    s.add_user("c@example.com").await;
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=third&redirect_uri={}&scope=openid%20email&state=a",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let (csrf, flow, _) = b.open_login(&url).await;
    let r = b.submit_login(&s.issuer(), &csrf, &flow, "c@example.com", crate::kit::PASSWORD).await;
    let r = b.get(&location(&r)).await;
    assert_eq!(r.status(), StatusCode::OK, "consent page");
    let html = r.text().await.unwrap();
    assert!(html.contains("Your email address"), "{html}");
    let r = b
        .post(
            &s.t("/consent"),
            &[("csrf", &field(&html, "csrf")), ("flow", &field(&html, "flow")), ("decision", "allow")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(query(&location(&r)).contains_key("code"));
    // Remembered: the next authorization skips the page.
    let back = b.authorize_silently(&url).await;
    assert!(query(&back).contains_key("code"), "{back}");
    // prompt=consent asks again; deny answers access_denied.
    let r = b.get(&format!("{url}&prompt=consent")).await;
    let html = r.text().await.unwrap();
    let r = b
        .post(
            &s.t("/consent"),
            &[("csrf", &field(&html, "csrf")), ("flow", &field(&html, "flow")), ("decision", "deny")],
        )
        .await;
    assert_eq!(query(&location(&r))["error"], "access_denied");
}

#[tokio::test]
async fn r15_sign_in_with_account_id_and_wrong_password_looks_like_unknown_account() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let id = s.add_user("who@example.com").await;
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&scope=openid",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let (csrf, flow, _) = b.open_login(&url).await;
    let wrong = b.submit_login(&s.issuer(), &csrf, &flow, "who@example.com", "wrong password!").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_html = wrong.text().await.unwrap();
    let unknown = b.submit_login(&s.issuer(), &csrf, &flow, "nobody@example.com", crate::kit::PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown_html = unknown.text().await.unwrap();
    assert!(wrong_html.contains("The account or password is wrong."));
    assert_eq!(wrong_html.replace("who@example.com", "X"), unknown_html.replace("nobody@example.com", "X"));
    let ok = b.submit_login(&s.issuer(), &csrf, &flow, &id, crate::kit::PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::FOUND, "the account id signs in too");
}

#[tokio::test]
async fn pages_speak_simplified_chinese_by_ui_locales_then_accept_language() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&scope=openid&ui_locales=zh-CN",
        s.t("/authorize"),
        crate::kit::REDIRECT
    );
    let (_, _, html) = b.open_login(&url).await;
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("登录"), "{html}");
    let r = b.http.get(s.t("/login")).header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5").send().await.unwrap();
    assert!(r.text().await.unwrap().contains("密码"));
    let r = b.http.get(s.t("/login")).header("accept-language", "en-US").send().await.unwrap();
    assert!(r.text().await.unwrap().contains("Password"));
}
