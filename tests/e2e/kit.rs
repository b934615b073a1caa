//! The test kit: start a server, make a tenant, clients and users, act as a browser.

use std::sync::Arc;

use latchkey::config::Config;
use latchkey::outbox::{OutboxConfig, SmsWebhookConfig, SmtpConfig, SmtpSecurity};
use latchkey::server::{self, Running};
use latchkey_core::ManualClock;
use latchkey_core::credential::password::HashParams;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::peers::{SmsGateway, SmtpSink};

const GATEWAY_SECRET: &str = "kit-gateway-secret";

/// Cheap argon2 for tests only: set explicitly here, never a default.
pub fn test_hash_params() -> HashParams {
    HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }
}

pub const PASSWORD: &str = "correct horse battery";
pub const SECRET: &str = "0123456789abcdef-test-secret";
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const REDIRECT2: &str = "http://127.0.0.1:9/cb2";
pub const AFTER_LOGOUT: &str = "http://127.0.0.1:9/bye";

/// A server running in this process on a free loopback port.
pub struct Server {
    #[allow(dead_code)] // keeps the server alive for the test
    pub running: Running,
    /// The SMTP server the outbox sends email to.
    pub mail: SmtpSink,
    /// The SMS gateway the outbox posts SMS and voice messages to.
    pub sms: SmsGateway,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub admin: reqwest::Client,
    pub tenant: String,
    _dir: tempfile::TempDir,
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

impl Server {
    /// Starts a server and creates a fresh tenant for the test.
    pub async fn start() -> Server {
        Self::start_with_tenant_files(&[]).await
    }

    /// Starts a server whose tenants directory holds `files` (name, TOML text).
    pub async fn start_with_tenant_files(files: &[(&str, &str)]) -> Server {
        Self::start_configured(files, |_| {}).await
    }

    /// Starts a server with `files` as tenant files and its configuration changed by
    /// `edit` (e.g. slower password hashes, for races).
    pub async fn start_configured(files: &[(&str, &str)], edit: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let tenants_dir = dir.path().join("tenants");
        std::fs::create_dir_all(&tenants_dir).unwrap();
        for (name, text) in files {
            std::fs::write(tenants_dir.join(name), text).unwrap();
        }
        let mail = SmtpSink::start().await;
        let sms = SmsGateway::start(GATEWAY_SECRET).await;
        let outbox = OutboxConfig {
            email: "smtp".into(),
            sms: "sms-webhook".into(),
            smtp: SmtpConfig {
                host: "127.0.0.1".into(),
                port: mail.port(),
                security: SmtpSecurity::None,
                username: SmtpSink::USER.into(),
                password: SmtpSink::PASSWORD.into(),
                from: "Latchkey <no-reply@latchkey.test>".into(),
            },
            sms_webhook: SmsWebhookConfig { url: sms.url(), secret: GATEWAY_SECRET.into(), timeout_ms: 5000 },
            ..OutboxConfig::default()
        };
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            tenants_dir,
            password_hash: test_hash_params(),
            outbox,
            ..Config::default()
        };
        edit(&mut config);
        let clock = Arc::new(ManualClock::new());
        let running = server::start(config, clock.clone()).await.unwrap();
        let base = format!("http://localhost:{}", running.addr.port());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {}", running.admin_token).parse().unwrap());
        let admin = reqwest::Client::builder().default_headers(headers).build().unwrap();
        let mut s = Server { running, mail, sms, clock, base, admin, tenant: String::new(), _dir: dir };
        s.tenant = s.add_tenant("t1").await;
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn issuer(&self) -> String {
        format!("{}/t/{}", self.base, self.tenant)
    }

    pub fn t(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    pub async fn add_tenant(&self, id: &str) -> String {
        let r = self.admin.post(self.url("/admin/tenants")).json(&json!({ "id": id })).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        id.to_string()
    }

    /// Registers a client in the test tenant; `extra` overrides the defaults (a
    /// confidential, first-party code client with secret SECRET and redirect REDIRECT).
    pub async fn add_client(&self, id: &str, extra: Value) -> Value {
        let mut body = json!({
            "id": id, "secret": SECRET, "redirect_uris": [REDIRECT, REDIRECT2],
            "post_logout_redirect_uris": [AFTER_LOGOUT], "first_party": true,
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let r = self
            .admin
            .post(self.url(&format!("/admin/tenants/{}/clients", self.tenant)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Creates an account with an email and PASSWORD; returns its id.
    pub async fn add_user(&self, email: &str) -> String {
        let r = self
            .admin
            .post(self.url(&format!("/admin/tenants/{}/users", self.tenant)))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }

    /// The openidconnect relying party for a client of the test tenant, from discovery.
    pub async fn rp(&self, client_id: &str, secret: Option<&str>) -> RpClient {
        let http = no_redirects();
        let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(self.issuer()).unwrap(), &http).await.unwrap();
        CoreClient::from_provider_metadata(
            meta,
            ClientId::new(client_id.into()),
            secret.map(|s| ClientSecret::new(s.into())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    }

    /// POSTs JSON to a path of the test tenant (`/api/...`) without credentials.
    pub async fn api(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api_in(&self.tenant, path, body).await
    }

    /// The same in another tenant.
    pub async fn api_in(&self, tenant: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = no_redirects().post(self.url(&format!("/t/{tenant}{path}"))).json(&body).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// A solved CAPTCHA (R19) from `POST /api/captcha`: the `id:nonce` answer the
    /// recovery requests carry as `captcha`.
    pub async fn captcha(&self) -> String {
        let (st, c) = self.api("/api/captcha", json!({})).await;
        assert_eq!(st, StatusCode::OK, "{c}");
        let difficulty = u8::try_from(c["difficulty"].as_u64().unwrap()).unwrap();
        format!(
            "{}:{}",
            c["id"].as_str().unwrap(),
            latchkey_core::captcha::solve(c["salt"].as_str().unwrap(), difficulty)
        )
    }

    /// Replaces the test tenant's settings (JSON, defaults for what is left out).
    pub async fn settings(&self, settings: Value) {
        let r = self
            .admin
            .put(self.url(&format!("/admin/tenants/{}/settings", self.tenant)))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    /// Runs `send` (which makes the server send one SMS to `mobile`) and returns the
    /// code in that SMS.
    pub async fn sms_code<F: std::future::Future<Output = (StatusCode, Value)>>(
        &self,
        mobile: &str,
        send: F,
    ) -> String {
        let n = self.sms.count_to(mobile);
        let (st, body) = send.await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let msg = self.sms.nth(mobile, n).await;
        crate::peers::six_digits(msg["text"].as_str().unwrap()).unwrap()
    }

    /// The same for an email.
    pub async fn mail_code<F: std::future::Future<Output = (StatusCode, Value)>>(
        &self,
        email: &str,
        send: F,
    ) -> String {
        let n = self.mail.count_to(email);
        let (st, body) = send.await;
        assert_eq!(st, StatusCode::OK, "{body}");
        self.mail.nth(email, n).await.code().unwrap()
    }

    /// Waits until every message the server handed to background delivery so far
    /// reached the SMTP sink or SMS gateway (or failed there), so a count of what was
    /// sent is final and an absence is real, without sleeping.
    pub async fn deliveries_settled(&self) {
        let settled = self.running.deliveries_settled(std::time::Duration::from_secs(10)).await;
        assert!(settled, "background deliveries still pending after 10 s");
    }

    /// Registers by mobile (R1) with PASSWORD; returns the account id.
    pub async fn register_mobile(&self, mobile: &str) -> String {
        let code = self
            .sms_code(mobile, self.api("/api/codes", json!({ "purpose": "register", "channel": "sms", "to": mobile })))
            .await;
        let (st, body) = self
            .api("/api/register", json!({ "by": "mobile", "mobile": mobile, "password": PASSWORD, "code": code }))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        // Past the resend cooldown, so the test can ask for the next code at once.
        self.clock.advance(61);
        body["account_id"].as_str().unwrap().to_string()
    }

    pub fn browser(&self) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// The server's data directory (store, seal.key, admin-token).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    /// Token endpoint call with Basic auth.
    pub async fn token(&self, client: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = no_redirects().post(self.t("/token")).basic_auth(client, Some(secret)).form(form).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

pub type RpClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// A browser: keeps cookies, does not follow redirects (tests follow them by hand).
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

/// A value of a hidden form field in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The first CAPTCHA widget (R19) in a page, solved: `id:nonce`.
pub fn solve_captcha(html: &str) -> String {
    solve_captcha_from(html, 0)
}

/// The CAPTCHA widget in the form posting to a path ending in `action`, solved.
pub fn solve_captcha_in(html: &str, action: &str) -> String {
    let marker = format!("{action}\">");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no form posting to {action} in {html}"));
    solve_captcha_from(html, at)
}

/// The first CAPTCHA widget at or after byte `from`, solved from its `data-id`,
/// `data-salt` and `data-bits`.
fn solve_captcha_from(html: &str, from: usize) -> String {
    let html = &html[from..];
    let attr = |name: &str| {
        let marker = format!("{name}=\"");
        let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
        html[start..].split('"').next().unwrap().to_string()
    };
    let (id, salt, bits) = (attr("data-id"), attr("data-salt"), attr("data-bits").parse::<u8>().unwrap());
    format!("{id}:{}", latchkey_core::captcha::solve(&salt, bits))
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location, status {}", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The query parameters of a URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

impl Browser {
    fn abs(&self, url: &str) -> String {
        if url.starts_with('/') { format!("{}{url}", self.base) } else { url.to_string() }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.abs(url)).send().await.unwrap()
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(self.abs(url)).form(form).send().await.unwrap()
    }

    /// Opens an authorization URL and expects the sign-in page; returns (csrf, flow, html).
    pub async fn open_login(&self, authorize_url: &str) -> (String, String, String) {
        let r = self.get(authorize_url).await;
        assert_eq!(r.status(), StatusCode::FOUND, "authorize should send to sign-in");
        let login = location(&r);
        assert!(login.contains("/login?flow="), "{login}");
        let html = self.get(&login).await.text().await.unwrap();
        (field(&html, "csrf"), field(&html, "flow"), html)
    }

    /// Submits the sign-in form; returns the response (a redirect on success).
    pub async fn submit_login(
        &self,
        tenant_base: &str,
        csrf: &str,
        flow: &str,
        identifier: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post(
            &format!("{tenant_base}/login"),
            &[("csrf", csrf), ("flow", flow), ("identifier", identifier), ("password", password)],
        )
        .await
    }

    /// Signs in through the whole authorization flow and returns the final redirect
    /// to the client (its URL, with code or error).
    pub async fn authorize_with_login(&self, tenant_base: &str, authorize_url: &str, identifier: &str) -> String {
        let (csrf, flow, _) = self.open_login(authorize_url).await;
        let r = self.submit_login(tenant_base, &csrf, &flow, identifier, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::FOUND, "sign-in failed: {}", r.text().await.unwrap());
        let resume = location(&r);
        let r = self.get(&resume).await;
        assert_eq!(r.status(), StatusCode::FOUND, "resume should redirect: {}", r.text().await.unwrap());
        location(&r)
    }

    /// With a session already present, authorization goes straight back to the client.
    pub async fn authorize_silently(&self, authorize_url: &str) -> String {
        let r = self.get(authorize_url).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        location(&r)
    }
}
