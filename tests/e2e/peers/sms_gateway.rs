//! An SMS gateway as an operator would run one behind `sms = "sms-webhook"`: it checks
//! `X-Latchkey-Signature` (HMAC-SHA256 over `{timestamp}.{body}`) and the timestamp's
//! freshness, answers 401 when either is wrong, and keeps the JSON it accepted. It can
//! be told to fail (500) or to answer slowly.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::task::JoinHandle;

/// How far the timestamp may be from the gateway's clock.
const MAX_SKEW_SECS: u64 = 300;

struct Inner {
    key: hmac::Key,
    accepted: Mutex<Vec<Value>>,
    refused: AtomicUsize,
    failing: AtomicBool,
    delay_ms: AtomicU64,
}

/// A running gateway on a loopback port; stops when dropped.
pub struct SmsGateway {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl SmsGateway {
    /// Starts a gateway that accepts requests signed with `secret`.
    pub async fn start(secret: &str) -> SmsGateway {
        let inner = Arc::new(Inner {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            accepted: Mutex::new(Vec::new()),
            refused: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
        });
        let app = Router::new().route("/sms", post(receive)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        SmsGateway { addr, inner, task }
    }

    /// The endpoint to configure as `outbox.sms_webhook.url`.
    pub fn url(&self) -> String {
        format!("http://{}/sms", self.addr)
    }

    /// Makes the gateway answer 500 to correctly signed requests (or stop doing so).
    pub fn set_failing(&self, failing: bool) {
        self.inner.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes the gateway wait this long before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The messages accepted so far (correctly signed and answered 2xx).
    pub fn accepted(&self) -> Vec<Value> {
        self.inner.accepted.lock().unwrap().clone()
    }

    /// How many requests were refused for a bad or missing signature or timestamp.
    pub fn refused(&self) -> usize {
        self.inner.refused.load(Ordering::SeqCst)
    }

    /// The first accepted message to `to`, waiting up to ~5 s for it.
    pub async fn wait_for(&self, to: &str) -> Value {
        let inner = self.inner.clone();
        super::poll(&format!("SMS to {to}"), || inner.accepted.lock().unwrap().iter().find(|m| m["to"] == to).cloned())
            .await
    }

    /// How many messages to `to` were accepted so far.
    pub fn count_to(&self, to: &str) -> usize {
        self.inner.accepted.lock().unwrap().iter().filter(|m| m["to"] == to).count()
    }

    /// The `n`th (0-based) accepted message to `to`, waiting up to ~5 s for it.
    pub async fn nth(&self, to: &str, n: usize) -> Value {
        let inner = self.inner.clone();
        super::poll(&format!("SMS #{n} to {to}"), || {
            inner.accepted.lock().unwrap().iter().filter(|m| m["to"] == to).nth(n).cloned()
        })
        .await
    }

    /// The six-digit code in the first message to `to`.
    pub async fn code_for(&self, to: &str) -> Option<String> {
        let message = self.wait_for(to).await;
        super::six_digits(message["text"].as_str()?)
    }
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// True when the headers carry a fresh timestamp and a valid signature of `body`.
fn verified(key: &hmac::Key, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (header("x-latchkey-timestamp"), header("x-latchkey-signature")) else {
        return false;
    };
    let Ok(stamped) = timestamp.parse::<u64>() else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if now.abs_diff(stamped) > MAX_SKEW_SECS {
        return false;
    }
    let Some(tag) = signature.strip_prefix("sha256=").and_then(unhex) else { return false };
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    hmac::verify(key, &signed, &tag).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if !verified(&inner.key, &headers, &body) {
        inner.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if inner.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let is_json = headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/json");
    let Ok(message) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    if !is_json {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    inner.accepted.lock().unwrap().push(message);
    StatusCode::OK
}
