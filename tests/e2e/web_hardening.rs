//! Web hardening (issue 10 items 6, 8, 9, 10, 15): signing keys sealed at rest and a
//! private data directory (O), throttled device user codes (P8), CSRF tokens bound to
//! the browser's session (U), security headers on every answer (U), session idle and
//! absolute lifetimes (R29), and the admin page session (O4).

use std::path::Path;
use std::sync::Arc;

use latchkey::config::Config;
use latchkey_core::ManualClock;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::kit::{Browser, PASSWORD, REDIRECT, SECRET, Server, field, location, no_redirects, query};

/// All bytes of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// (path, mode) of `dir` and everything in it.
#[cfg(unix)]
fn modes(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![(dir.display().to_string(), std::fs::metadata(dir).unwrap().permissions().mode() & 0o777)];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(modes(&p));
        } else {
            out.push((p.display().to_string(), std::fs::metadata(&p).unwrap().permissions().mode() & 0o777));
        }
    }
    out
}

/// A server with the default outbox (the file) in `data`, calling itself `public_url`.
async fn start_plain(data: &Path, public_url: &str) -> latchkey::server::Running {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data.to_path_buf(),
        tenants_dir: data.join("no-tenants"),
        public_url: public_url.into(),
        password_hash: crate::kit::test_hash_params(),
        ..Config::default()
    };
    latchkey::server::start(config, Arc::new(ManualClock::new())).await.unwrap()
}

#[tokio::test]
async fn o_signing_keys_are_sealed_at_rest() {
    let s = Server::start().await;
    // A rotation writes new keys and keeps the retired ones.
    let r = s.admin.post(s.url(&format!("/admin/tenants/{}/keys/rotate", s.tenant))).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let jwks: Value = no_redirects().get(s.t("/jwks")).send().await.unwrap().json().await.unwrap();
    assert!(jwks["keys"].as_array().unwrap().len() >= 3, "{jwks}");
    s.running.state.flush().await.unwrap();
    let bytes = all_bytes(&s.data_dir().join("store"));
    assert!(contains(&bytes, "\"sealed\":\""), "the key records are in the files");
    assert!(!contains(&bytes, "\"pkcs8\""), "no plain PKCS#8 field in the store files");
    assert!(!contains(&bytes, "PRIVATE KEY"), "no PEM private key");
    // base64 of the PKCS#8 headers of the three key types (RSA 2048, P-256, Ed25519).
    for header in ["MIIEv", "MIIEu", "MIGHAgEAMBMG", "MC4CAQAwBQYDK2Vw", "MFECAQEwBQYDK2Vw"] {
        assert!(!contains(&bytes, header), "a PKCS#8 document ({header}...) in the store");
    }
    // And the sealed keys sign: an ID token verifies through discovery and JWKS.
    s.add_client("web", json!({})).await;
    s.add_user("keys@example.com").await;
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&state=s&nonce=n",
        s.t("/authorize")
    );
    let back = s.browser().authorize_with_login(&s.issuer(), &url, "keys@example.com").await;
    let code = query(&back)["code"].clone();
    let (st, tokens) = s
        .token("web", SECRET, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .await;
    assert_eq!(st, StatusCode::OK, "{tokens}");
}

#[cfg(unix)]
#[tokio::test]
async fn o_the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // An existing data directory made loose (an older version, a loose umask).
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("admin-token"), "lk_existing-token").unwrap();
    std::fs::set_permissions(data.join("admin-token"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let running = start_plain(&data, "").await;
    // A code through the file outbox creates outbox.jsonl.
    let base = format!("http://127.0.0.1:{}", running.addr.port());
    let r = no_redirects()
        .post(format!("{base}/t/default/api/codes"))
        .json(&json!({ "purpose": "register", "channel": "email", "to": "new@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert!(data.join("outbox.jsonl").exists());
    let all = modes(&data);
    for name in ["store", "seal.key", "admin-token", "outbox.jsonl"] {
        assert!(all.iter().any(|(p, _)| p.ends_with(name)), "{name} missing from {all:?}");
    }
    for (path, mode) in &all {
        let want = if Path::new(path).is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path} is {mode:o}");
    }
    running.stop().await;
}

/// The `name=value` of a `Set-Cookie` named `name` in `r`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// A browser whose cookies the test holds itself: signs in as `who` and returns
/// (CSRF nonce cookie, session cookie, the sign-in page's token).
async fn raw_sign_in(s: &Server, who: &str) -> (String, String, String) {
    let r = no_redirects().get(s.t("/login")).send().await.unwrap();
    let nonce = set_cookie(&r, "lk_csrf").unwrap();
    let token = field(&r.text().await.unwrap(), "csrf");
    let r = no_redirects()
        .post(s.t("/login"))
        .header(COOKIE, &nonce)
        .form(&[("csrf", token.as_str()), ("flow", ""), ("identifier", who), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "{}", r.text().await.unwrap());
    (nonce, set_cookie(&r, "lk_session").unwrap(), token)
}

/// The CSRF token of an account-center page (the password form) for these cookies.
async fn account_token(s: &Server, cookies: &str) -> String {
    let r = no_redirects().get(s.t("/account/password")).header(COOKIE, cookies).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    field(&r.text().await.unwrap(), "csrf")
}

async fn end_others(s: &Server, cookies: &str, token: &str) -> StatusCode {
    let r = no_redirects()
        .post(s.t("/account/sessions/end-others"))
        .header(COOKIE, cookies)
        .form(&[("csrf", token)])
        .send()
        .await
        .unwrap();
    r.status()
}

#[tokio::test]
async fn u_an_empty_csrf_token_is_refused() {
    let s = Server::start().await;
    s.add_user("empty@example.com").await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let token = field(&html, "csrf");
    for csrf in ["", " "] {
        let r = b.submit_login(&s.issuer(), csrf, "", "empty@example.com", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {csrf:?}");
    }
    // No cookie at all: the page's token alone is refused, and so is an empty cookie.
    for cookie in ["", "lk_csrf="] {
        let mut req = no_redirects().post(s.t("/login"));
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie);
        }
        let r = req
            .form(&[
                ("csrf", token.as_str()),
                ("flow", ""),
                ("identifier", "empty@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "cookie {cookie:?}");
    }
    // An empty token with an empty cookie (the old double submit would compare "" to "").
    let r = no_redirects()
        .post(s.t("/login"))
        .header(COOKIE, "lk_csrf=")
        .form(&[("csrf", ""), ("flow", ""), ("identifier", "empty@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The real token still signs in.
    let r = b.submit_login(&s.issuer(), &token, "", "empty@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn u_a_csrf_token_from_another_browser_is_refused() {
    let s = Server::start().await;
    s.add_user("victim@example.com").await;
    s.add_user("attacker@example.com").await;
    let (v_nonce, v_session, v_login_token) = raw_sign_in(&s, "victim@example.com").await;
    let (a_nonce, a_session, _) = raw_sign_in(&s, "attacker@example.com").await;
    let a_token = account_token(&s, &format!("{a_nonce}; {a_session}")).await;

    // A sibling subdomain plants the attacker's nonce in the victim's browser and
    // posts the attacker's (valid for the attacker) token: the victim's session
    // cookie goes with it, so the token does not match.
    assert_eq!(end_others(&s, &format!("{a_nonce}; {v_session}"), &a_token).await, StatusCode::FORBIDDEN);
    // The victim's own nonce with the attacker's token: refused too.
    assert_eq!(end_others(&s, &format!("{v_nonce}; {v_session}"), &a_token).await, StatusCode::FORBIDDEN);
    // The token the victim's sign-in page carried (before the session) is not a token
    // of the session.
    assert_eq!(end_others(&s, &format!("{v_nonce}; {v_session}"), &v_login_token).await, StatusCode::FORBIDDEN);
    // The bare nonce (a plain double submit) is not a token.
    let bare = v_nonce.split_once('=').unwrap().1.to_string();
    assert_eq!(end_others(&s, &format!("{v_nonce}; {v_session}"), &bare).await, StatusCode::FORBIDDEN);
    // The victim's own page token works.
    let v_token = account_token(&s, &format!("{v_nonce}; {v_session}")).await;
    assert_eq!(end_others(&s, &format!("{v_nonce}; {v_session}"), &v_token).await, StatusCode::SEE_OTHER);
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} on {}", r.url()))
}

/// Checks the security headers of one answer.
fn check_headers(r: &reqwest::Response) {
    let csp = header(r, CONTENT_SECURITY_POLICY.as_str());
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{} lacks {part}: {csp}", r.url());
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{}", r.url());
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{}", r.url());
    assert_eq!(header(r, "x-frame-options"), "DENY", "{}", r.url());
}

/// Every `<script>` of a page loads a file from /assets; no inline script, style or
/// event handler attribute.
fn script_sources(html: &str) -> Vec<String> {
    assert!(!html.contains("<style"), "an inline style sheet");
    assert!(!html.contains(" style=\""), "an inline style attribute");
    for handler in [" onload=", " onclick=", " onsubmit=", " onchange=", " onerror="] {
        assert!(!html.contains(handler), "an inline event handler {handler}");
    }
    let mut out = Vec::new();
    for part in html.split("<script").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let src = tag.split("src=\"").nth(1).map(|v| v.split('"').next().unwrap().to_string());
        let src = src.unwrap_or_else(|| panic!("an inline script: <script{}", &part[..part.len().min(80)]));
        assert!(part[part.find('>').unwrap() + 1..].starts_with("</script>"), "a script with a body");
        assert!(src.starts_with("/assets/"), "{src}");
        out.push(src);
    }
    out
}

#[tokio::test]
async fn u_every_page_carries_the_security_headers() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("headers@example.com").await;
    // Enough failures that the sign-in page shows the CAPTCHA widget (its script).
    s.settings(json!({ "sign_in": { "captcha_after_ip_failures": 0 } })).await;
    let b = s.browser();
    let mut scripts = Vec::new();
    let pages = [
        s.t("/login"),
        s.t("/login?method=sms"),
        s.t("/register"),
        s.t("/recover"),
        s.t("/recover/account"),
        s.t("/device"),
        s.url("/demo"),
        s.url("/admin/login"),
    ];
    for url in &pages {
        let r = b.get(url).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        check_headers(&r);
        assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store", "{url}");
        scripts.extend(script_sources(&r.text().await.unwrap()));
    }
    // The sign-in page lets its forms lead on to the tenant's registered client
    // origins (a sign-in ends in a redirect to the app), and nowhere else.
    let r = b.get(&s.t("/login")).await;
    let csp = header(&r, CONTENT_SECURITY_POLICY.as_str()).to_string();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("/assets/captcha.js") && html.contains("/assets/passkey_get.js"), "{html}");
    assert!(html.contains("/assets/latchkey.css"));

    // Signed in: the account center and its security page.
    s.settings(json!({})).await;
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", "headers@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    for path in ["/account", "/account/security", "/account/password", "/account/linked", "/device"] {
        let r = b.get(&s.t(path)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        check_headers(&r);
        assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store", "{path}");
        scripts.extend(script_sources(&r.text().await.unwrap()));
    }
    // JSON answers, redirects and errors carry them too.
    for url in [s.t("/.well-known/openid-configuration"), s.t("/jwks"), s.t("/authorize"), s.url("/nowhere")] {
        check_headers(&no_redirects().get(&url).send().await.unwrap());
    }
    // Each script and the style sheet are served, as what they are.
    scripts.push("/assets/latchkey.css".into());
    scripts.push("/assets/form_post.js".into());
    scripts.sort();
    scripts.dedup();
    assert!(scripts.len() >= 5, "{scripts:?}");
    for src in &scripts {
        let r = no_redirects().get(s.url(src)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{src}");
        let kind = header(&r, "content-type").to_string();
        assert!(kind.starts_with(if src.ends_with(".css") { "text/css" } else { "text/javascript" }), "{kind}");
        check_headers(&r);
        assert!(!r.text().await.unwrap().is_empty());
    }

    // form_post: the page that posts the code to the app has no inline script.
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&state=s&response_mode=form_post",
        s.t("/authorize")
    );
    let r = b.get(&url).await;
    assert_eq!(r.status(), StatusCode::OK);
    check_headers(&r);
    let csp = header(&r, CONTENT_SECURITY_POLICY.as_str()).to_string();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "the app's origin: {csp}");
    let html = r.text().await.unwrap();
    assert!(html.contains("action=\"http:&#x2f;&#x2f;127.0.0.1:9&#x2f;cb\""), "{html}");
    assert_eq!(script_sources(&html), vec!["/assets/form_post.js".to_string()]);

    // Under an https public URL: HSTS, and the CSRF cookie is __Host- prefixed.
    let tmp = tempfile::tempdir().unwrap();
    let running = start_plain(&tmp.path().join("data"), "https://idp.example").await;
    let r =
        no_redirects().get(format!("http://127.0.0.1:{}/t/default/login", running.addr.port())).send().await.unwrap();
    check_headers(&r);
    assert!(header(&r, "strict-transport-security").starts_with("max-age="));
    let cookie = r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(cookie.iter().any(|c| c.starts_with("__Host-lk_csrf=") && c.contains("Path=/") && c.contains("Secure")));
    assert!(!cookie.iter().any(|c| c.starts_with("lk_csrf=")), "{cookie:?}");
    running.stop().await;
    // Plain http: no HSTS.
    assert!(b.get(&s.t("/login")).await.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn u_account_api_answers_are_not_cached() {
    let s = Server::start().await;
    s.add_client("web", json!({})).await;
    s.add_user("cache@example.com").await;
    let b = s.browser();
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid%20email&state=s&nonce=n",
        s.t("/authorize")
    );
    let back = b.authorize_with_login(&s.issuer(), &url, "cache@example.com").await;
    let code = query(&back)["code"].clone();
    let r = no_redirects()
        .post(s.t("/token"))
        .basic_auth("web", Some(SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store");
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let r = no_redirects().get(s.t("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store", "userinfo");
    let r = no_redirects()
        .post(s.t("/introspect"))
        .basic_auth("web", Some(SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store", "introspection");

    // The account API with the browser session: every answer, success or not.
    for path in ["/api/account", "/api/account/sessions", "/api/account/devices"] {
        let r = b.http.get(s.t(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store", "{path}");
        check_headers(&r);
    }
    let r = no_redirects().get(s.t("/api/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, CACHE_CONTROL.as_str()), "no-store");
    // Public metadata stays cacheable by its own rules (no forced no-store).
    let r = no_redirects().get(s.t("/jwks")).send().await.unwrap();
    assert_ne!(r.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
}

/// Registers a device client and starts a device authorization; returns the user code.
async fn device_code(s: &Server) -> String {
    let r = no_redirects()
        .post(s.t("/device_authorization"))
        .form(&[("client_id", "tv"), ("scope", "openid")])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["user_code"].as_str().unwrap().to_string()
}

async fn device_setup(s: &Server) {
    s.add_client(
        "tv",
        json!({ "name": "tv app", "public": true, "secret": null, "redirect_uris": [],
                "post_logout_redirect_uris": [], "first_party": false,
                "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"] }),
    )
    .await;
}

async fn signed_in(s: &Server, email: &str) -> Browser {
    s.add_user(email).await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    b
}

/// A wrong user code of the right form, different for each `i`.
fn wrong_code(i: usize) -> String {
    let a = b"BCDFGHJKLMNPQRSTVWXZ";
    let c: String = (0..8).map(|k| char::from(a[(i / 20usize.pow(k % 3) + k as usize) % 20])).collect();
    format!("{}-{}", &c[..4], &c[4..])
}

async fn try_code(s: &Server, b: &Browser, code: &str) -> StatusCode {
    b.get(&format!("{}?user_code={code}", s.t("/device"))).await.status()
}

async fn audit_count(s: &Server, action: &str) -> usize {
    let events: Vec<Value> =
        s.admin.get(s.url(&format!("/admin/tenants/{}/audit", s.tenant))).send().await.unwrap().json().await.unwrap();
    events.iter().filter(|e| e["action"] == action).count()
}

#[tokio::test]
async fn p8_wrong_user_codes_are_throttled_per_ip() {
    let s = Server::start().await;
    device_setup(&s).await;
    s.settings(json!({ "device_codes": { "max_ip_failures_per_hour": 4, "backoff_after": 100 } })).await;
    let right = device_code(&s).await;
    let first = signed_in(&s, "first@example.com").await;
    for i in 0..4 {
        assert_eq!(try_code(&s, &first, &wrong_code(i)).await, StatusCode::BAD_REQUEST, "wrong code {i}");
    }
    assert_eq!(try_code(&s, &first, &wrong_code(9)).await, StatusCode::TOO_MANY_REQUESTS);
    // Another account from the same IP: refused before the code is even looked up,
    // the right code included; the answer says when to come back.
    let second = signed_in(&s, "second@example.com").await;
    let r = second.get(&format!("{}?user_code={right}", s.t("/device"))).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&r, "retry-after").parse().unwrap();
    assert!(wait > 3000 && wait <= 3600, "{wait}");
    assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    // The decision form is throttled the same way.
    let html = second.get(&s.t("/account/password")).await.text().await.unwrap();
    let r = second
        .post(&s.t("/device"), &[("csrf", &field(&html, "csrf")), ("user_code", &right), ("decision", "allow")])
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(audit_count(&s, "device_code_wrong").await, 4);
    assert!(audit_count(&s, "device_code_throttled").await >= 3);
    // After the hour the right code works again (the code itself lives 10 minutes,
    // so a fresh one).
    s.clock.advance(wait);
    let right = device_code(&s).await;
    let r = second.get(&format!("{}?user_code={right}", s.t("/device"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("tv app"));
}

#[tokio::test]
async fn p8_parallel_user_code_guesses_are_capped() {
    let s = Server::start().await;
    device_setup(&s).await;
    let right = device_code(&s).await;
    let b = Arc::new(signed_in(&s, "burst@example.com").await);
    let s = Arc::new(s);
    let tries: Vec<_> = (0..30)
        .map(|i| {
            let (s, b) = (s.clone(), b.clone());
            tokio::spawn(async move { try_code(&s, &b, &wrong_code(i)).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tries {
        answers.push(t.await.unwrap());
    }
    let evaluated = answers.iter().filter(|st| **st == StatusCode::BAD_REQUEST).count();
    let refused = answers.iter().filter(|st| **st == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((evaluated, refused), (5, 25), "{answers:?}");
    assert_eq!(audit_count(&s, "device_code_wrong").await, 5, "only the reserved tries were looked up");
    // The backoff holds inside and after the burst: even the right code waits.
    assert_eq!(try_code(&s, &b, &right).await, StatusCode::TOO_MANY_REQUESTS);
    s.clock.advance(1);
    assert_eq!(try_code(&s, &b, &right).await, StatusCode::OK);
}

#[tokio::test]
async fn r29_an_idle_strong_session_ends_after_30_minutes() {
    let s = Server::start().await;
    s.settings(json!({ "sign_in": { "require_second_factor": true } })).await;
    let m = "+8613800138901";
    s.register_mobile(m).await;
    let b = s.browser();
    let html = b.get(&s.t("/login")).await.text().await.unwrap();
    let r = b.submit_login(&s.issuer(), &field(&html, "csrf"), "", m, PASSWORD).await;
    assert_eq!(location(&r), format!("/t/{}/login/verify", s.tenant));
    let r = crate::two_step::give_sms_factor(&s, &b, m, false).await;
    assert_eq!(location(&r), format!("/t/{}/account", s.tenant));
    let status = || async { b.http.get(s.t("/api/account")).send().await.unwrap().status() };
    assert_eq!(status().await, StatusCode::OK);
    // Used every 29 minutes, the strong session stays.
    for _ in 0..3 {
        s.clock.advance(29 * 60);
        assert_eq!(status().await, StatusCode::OK);
    }
    // Left alone for more than 30 minutes, it is gone.
    s.clock.advance(30 * 60 + 1);
    assert_eq!(status().await, StatusCode::UNAUTHORIZED);
    let r = b.get(&s.t("/account")).await;
    assert_eq!(location(&r), format!("/t/{}/login", s.tenant), "the account page asks to sign in again");
}

#[tokio::test]
async fn r29_a_session_ends_after_its_absolute_lifetime() {
    let s = Server::start().await;
    let b = signed_in(&s, "lifetime@example.com").await;
    let status = || async { b.http.get(s.t("/api/account")).send().await.unwrap().status() };
    // Used all along (a one-factor session has no idle timeout by default: an hour
    // between uses is fine), a session still ends 12 hours after sign-in.
    for _ in 0..11 {
        s.clock.advance(3600);
        assert_eq!(status().await, StatusCode::OK);
    }
    s.clock.advance(3600 - 1);
    assert_eq!(status().await, StatusCode::OK);
    s.clock.advance(1);
    assert_eq!(status().await, StatusCode::UNAUTHORIZED);
    // A tenant sets a shorter one (and idle timeouts for every session).
    s.settings(json!({ "sessions": { "lifetime": 600, "idle_timeout": 120 } })).await;
    let short = signed_in(&s, "short@example.com").await;
    let status = || async { short.http.get(s.t("/api/account")).send().await.unwrap().status() };
    s.clock.advance(119);
    assert_eq!(status().await, StatusCode::OK);
    s.clock.advance(121);
    assert_eq!(status().await, StatusCode::UNAUTHORIZED, "idle for two minutes");
}

#[tokio::test]
async fn o4_the_admin_page_cookie_is_a_random_expiring_session_with_sign_out() {
    let s = Server::start().await;
    let reviews = s.url(&format!("/admin/t/{}/reviews", s.tenant));
    let sign_in = |b: Browser| {
        let s = &s;
        async move {
            let html = b.get(&s.url("/admin/login")).await.text().await.unwrap();
            let r = b
                .post(
                    &s.url("/admin/login"),
                    &[("csrf", field(&html, "csrf").as_str()), ("token", &s.running.admin_token)],
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            let cookie = set_cookie(&r, "lk_admin").unwrap();
            let full =
                r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
            assert!(full.iter().any(|c| c.starts_with("lk_admin=") && c.contains("Max-Age=28800")), "{full:?}");
            (b, cookie)
        }
    };
    let (b, first) = sign_in(s.browser()).await;
    let (_, second) = sign_in(s.browser()).await;
    assert_ne!(first, second, "a random value per sign-in, not one derived from the token");
    assert_eq!(b.get(&reviews).await.status(), StatusCode::OK);
    // The old derived value opens nothing.
    let digest = latchkey_core::secret::digest(&s.running.admin_token);
    let derived = latchkey_core::secret::digest(&format!("admin-session:{digest}"));
    let r = no_redirects().get(&reviews).header(COOKIE, format!("lk_admin={derived}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "to the sign-in page");

    // Sign out: the cookie is cleared and the session is gone on the server too.
    let html = b.get(&reviews).await.text().await.unwrap();
    assert!(html.contains("action=\"/admin/logout\""), "a sign-out button");
    let r = b.post(&s.url("/admin/logout"), &[("csrf", field(&html, "csrf").as_str())]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(set_cookie(&r, "lk_admin").as_deref(), Some("lk_admin="));
    let r = no_redirects().get(&reviews).header(COOKIE, &first).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "the signed-out value is dead");
    // Sign-out needs the CSRF token.
    let r =
        no_redirects().post(s.url("/admin/logout")).header(COOKIE, &second).form(&[("csrf", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The other session expires after 8 hours.
    let ok = no_redirects().get(&reviews).header(COOKIE, &second).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    s.clock.advance(8 * 3600);
    let r = no_redirects().get(&reviews).header(COOKIE, &second).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "expired");
}
