//! The `sms-webhook` sender: SMS and voice messages as a signed HTTP POST to a gateway
//! the operator runs (which then talks to a carrier or an SMS provider).
//!
//! The request is `POST {url}` with `Content-Type: application/json` and the body
//!
//! ```json
//! {"to": "+8613800138000", "channel": "sms", "text": "您的验证码为 123456，…",
//!  "tenant": "acme", "locale": "zh-CN", "kind": "code", "purpose": "sign_in"}
//! ```
//!
//! `channel` is `sms` or `voice`; `kind` is `code`, `link`, `account_names` or `notice`;
//! `purpose` is present for `code` and `link` only. Two headers authenticate it:
//!
//! - `X-Latchkey-Timestamp: <unix seconds>`
//! - `X-Latchkey-Signature: sha256=<hex>`, the lowercase hex HMAC-SHA256 keyed with
//!   `secret` over the bytes `{timestamp}.{body}`: the timestamp header's value, a dot,
//!   then the raw request body exactly as received.
//!
//! A gateway recomputes the HMAC, compares it in constant time, and should refuse
//! timestamps more than a few minutes from its own clock so a captured request cannot
//! be replayed later. Any 2xx answer means accepted; anything else, or no answer within
//! `timeout_ms`, fails the delivery. Redirects are not followed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_lc_rs::hmac;
use latchkey_core::code::{Channel, Message, MessageKind, Outbox};
use latchkey_core::{Clock, Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::outbox::render;

/// The header carrying the signature, `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Latchkey-Signature";
/// The header carrying the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Latchkey-Timestamp";

/// `[outbox.sms_webhook]` in the configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsWebhookConfig {
    /// The gateway's endpoint, http or https.
    pub url: String,
    /// The HMAC-SHA256 key shared with the gateway.
    pub secret: String,
    /// How long to wait for the gateway's answer, milliseconds.
    pub timeout_ms: u64,
}

impl Default for SmsWebhookConfig {
    fn default() -> Self {
        SmsWebhookConfig { url: String::new(), secret: String::new(), timeout_ms: 5000 }
    }
}

// The key stays out of logs and panic messages.
impl fmt::Debug for SmsWebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsWebhookConfig")
            .field("url", &self.url)
            .field("secret", &if self.secret.is_empty() { "" } else { "<redacted>" })
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Posts SMS and voice messages to the configured gateway.
pub struct SmsWebhookOutbox {
    client: reqwest::Client,
    url: url::Url,
    key: hmac::Key,
    timeout_ms: u64,
    clock: Arc<dyn Clock>,
}

impl SmsWebhookOutbox {
    /// Checks the configuration and builds the HTTP client. `clock` stamps the
    /// requests; the gateway compares that stamp with its own clock.
    pub fn new(config: &SmsWebhookConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        if config.url.trim().is_empty() {
            bail!("outbox.sms = \"sms-webhook\" needs outbox.sms_webhook.url");
        }
        let url = url::Url::parse(&config.url)
            .with_context(|| format!("outbox.sms_webhook.url = {:?} is not a URL", config.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("outbox.sms_webhook.url must be http or https, not {:?}", url.scheme());
        }
        if config.secret.is_empty() {
            bail!(
                "outbox.sms = \"sms-webhook\" needs outbox.sms_webhook.secret (the HMAC key shared with the gateway)"
            );
        }
        if config.timeout_ms == 0 {
            bail!("outbox.sms_webhook.timeout_ms must be more than 0");
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("outbox.sms_webhook: building the HTTP client")?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, config.secret.as_bytes());
        Ok(SmsWebhookOutbox { client, url, key, timeout_ms: config.timeout_ms, clock })
    }

    async fn send(&self, message: &Message) -> Result<()> {
        let channel = match message.to.channel {
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Email => {
                return Err(Error::Delivery("sms-webhook: email destinations are not sent by SMS".into()));
            }
        };
        let body = payload(message, channel).to_string();
        let timestamp = self.clock.now().to_string();
        let signature = sign(&self.key, &timestamp, body.as_bytes());
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, format!("sha256={signature}"))
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    Error::Delivery(format!("sms-webhook: no answer within {} ms", self.timeout_ms))
                } else {
                    // Without the URL: it may carry a token in its query.
                    Error::Delivery(format!("sms-webhook: {}", e.without_url()))
                }
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            // The gateway's body is not quoted: it may echo the message back.
            Err(Error::Delivery(format!("sms-webhook: the gateway answered {status}")))
        }
    }
}

fn payload(message: &Message, channel: &str) -> Value {
    let text = render::render(message);
    let (kind, purpose) = match &message.kind {
        MessageKind::Code { purpose, .. } => ("code", Some(purpose.as_str())),
        MessageKind::Link { purpose, .. } => ("link", Some(purpose.as_str())),
        MessageKind::AccountNames { .. } => ("account_names", None),
        MessageKind::Notice(_) => ("notice", None),
    };
    let mut body = Map::new();
    body.insert("to".into(), json!(message.to.address));
    body.insert("channel".into(), json!(channel));
    body.insert("text".into(), json!(text.body));
    body.insert("tenant".into(), json!(message.tenant));
    body.insert("locale".into(), json!(message.locale));
    body.insert("kind".into(), json!(kind));
    if let Some(purpose) = purpose {
        body.insert("purpose".into(), json!(purpose));
    }
    Value::Object(body)
}

/// The lowercase hex HMAC-SHA256 of `{timestamp}.{body}`.
pub fn sign(key: &hmac::Key, timestamp: &str, body: &[u8]) -> String {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Outbox for SmsWebhookOutbox {
    fn deliver<'a>(&'a self, message: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(self.send(message))
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::code::{Destination, Purpose};

    use super::*;

    #[test]
    fn signature_covers_timestamp_dot_body() {
        // The signed bytes are the timestamp, a dot, then the body: nothing else.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let framed = sign(&key, "what do ya want ", b" for nothing?");
        let whole = hmac::sign(&key, b"what do ya want . for nothing?");
        let hex: String = whole.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(framed, hex);
        assert_eq!(sign(&key, "what do ya want for", b"nothing?").len(), 64);
    }

    #[test]
    fn payload_names_channel_kind_and_purpose_only_where_it_applies() {
        let code = Message {
            tenant: "acme".into(),
            to: Destination { channel: Channel::Voice, address: "+8613800138000".into() },
            locale: "en".into(),
            kind: MessageKind::Code { purpose: Purpose::SignIn, code: "123456".into(), minutes: 5 },
        };
        let v = payload(&code, "voice");
        assert_eq!(v["channel"], "voice");
        assert_eq!(v["kind"], "code");
        assert_eq!(v["purpose"], "sign_in");
        assert!(v["text"].as_str().unwrap().contains("123456"));
        let names = Message { kind: MessageKind::AccountNames { names: vec!["a".into()] }, ..code };
        assert!(payload(&names, "sms").get("purpose").is_none());
    }

    #[test]
    fn building_refuses_missing_url_or_secret() {
        let clock: Arc<dyn Clock> = Arc::new(latchkey_core::SystemClock);
        let ok = SmsWebhookConfig { url: "http://127.0.0.1:9/sms".into(), secret: "k".into(), ..Default::default() };
        assert!(SmsWebhookOutbox::new(&ok, clock.clone()).is_ok());
        let no_url = SmsWebhookConfig { url: String::new(), ..ok.clone() };
        assert!(SmsWebhookOutbox::new(&no_url, clock.clone()).err().unwrap().to_string().contains("url"));
        let no_secret = SmsWebhookConfig { secret: String::new(), ..ok.clone() };
        assert!(SmsWebhookOutbox::new(&no_secret, clock.clone()).err().unwrap().to_string().contains("secret"));
        let ftp = SmsWebhookConfig { url: "ftp://example.com/".into(), ..ok };
        assert!(SmsWebhookOutbox::new(&ftp, clock).is_err());
    }
}
