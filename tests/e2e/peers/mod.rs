//! Test peers: small real servers that stand in for what Latchkey talks to in
//! production (an SMTP server, an SMS gateway), so senders are tested over the wire.

pub mod oauth2_upstream;
pub mod sms_gateway;
pub mod smtp_sink;

pub use sms_gateway::SmsGateway;
pub use smtp_sink::SmtpSink;

use std::time::Duration;

/// How long `wait_for` helpers poll before giving up.
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);

/// The first run of exactly six ASCII digits in `text` (a one-time code).
pub fn six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_string());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Polls `check` until it yields a value or `WAIT` passes.
async fn poll<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: nothing arrived within {WAIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}
