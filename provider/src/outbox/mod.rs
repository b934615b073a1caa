//! Delivering messages: the configured senders (`file`, `smtp` for email,
//! `sms-webhook` for mobile numbers) behind core's `Outbox` trait, routed by channel,
//! with texts rendered per locale.

mod file;
pub mod render;
mod sms_webhook;
mod smtp;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Context, bail};
use latchkey_core::code::{Channel, Message, Outbox};
use latchkey_core::{Result, SystemClock};
use serde::{Deserialize, Serialize};

pub use sms_webhook::SmsWebhookConfig;
pub use smtp::{SmtpConfig, SmtpSecurity};

/// `[outbox]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Where email goes: "file" (default) or "smtp".
    pub email: String,
    /// Where SMS and voice messages go: "file" (default) or "sms-webhook".
    pub sms: String,
    /// For "file": the JSON-lines file, relative to the data directory.
    pub file: String,
    /// For `email = "smtp"`: the SMTP server.
    pub smtp: SmtpConfig,
    /// For `sms = "sms-webhook"`: the gateway that receives signed POSTs.
    pub sms_webhook: SmsWebhookConfig,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            email: "file".into(),
            sms: "file".into(),
            file: "outbox.jsonl".into(),
            smtp: SmtpConfig::default(),
            sms_webhook: SmsWebhookConfig::default(),
        }
    }
}

/// The sender chosen for email.
enum EmailSender {
    File,
    Smtp,
}

/// The sender chosen for SMS and voice.
enum SmsSender {
    File,
    Webhook,
}

/// Builds the outbox the configuration names: email and mobile messages each go to
/// their own sender. Fails on an unknown sender or an incomplete sender section.
pub fn from_config(config: &OutboxConfig, data_dir: &Path) -> anyhow::Result<Arc<dyn Outbox>> {
    let email = match config.email.as_str() {
        "file" => EmailSender::File,
        "smtp" => EmailSender::Smtp,
        other => bail!("outbox.email = {other:?} is not a sender (expected \"file\" or \"smtp\")"),
    };
    let sms = match config.sms.as_str() {
        "file" => SmsSender::File,
        "sms-webhook" => SmsSender::Webhook,
        other => bail!("outbox.sms = {other:?} is not a sender (expected \"file\" or \"sms-webhook\")"),
    };
    let file: Arc<dyn Outbox> = Arc::new(file::FileOutbox::new(data_dir.join(&config.file)));
    let email: Arc<dyn Outbox> = match email {
        EmailSender::File => file.clone(),
        EmailSender::Smtp => Arc::new(smtp::SmtpOutbox::new(&config.smtp).context("outbox.smtp")?),
    };
    let sms: Arc<dyn Outbox> = match sms {
        SmsSender::File => file,
        SmsSender::Webhook => Arc::new(
            sms_webhook::SmsWebhookOutbox::new(&config.sms_webhook, Arc::new(SystemClock))
                .context("outbox.sms_webhook")?,
        ),
    };
    Ok(Arc::new(ByChannel { email, sms }))
}

/// Sends each message to the sender for its channel.
struct ByChannel {
    email: Arc<dyn Outbox>,
    sms: Arc<dyn Outbox>,
}

impl Outbox for ByChannel {
    fn deliver<'a>(&'a self, message: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        match message.to.channel {
            Channel::Email => self.email.deliver(message),
            Channel::Sms | Channel::Voice => self.sms.deliver(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(config: &OutboxConfig) -> String {
        format!("{:#}", from_config(config, Path::new("/nonexistent")).err().unwrap())
    }

    #[test]
    fn defaults_build_the_file_sender() {
        assert!(from_config(&OutboxConfig::default(), Path::new("/nonexistent")).is_ok());
    }

    #[test]
    fn unknown_senders_are_refused_by_name() {
        let c = OutboxConfig { email: "carrier-pigeon".into(), ..Default::default() };
        assert!(err(&c).contains("outbox.email = \"carrier-pigeon\""));
        let c = OutboxConfig { sms: "smtp".into(), ..Default::default() };
        assert!(err(&c).contains("outbox.sms = \"smtp\""));
    }

    #[test]
    fn smtp_without_host_or_with_bad_from_is_refused() {
        let c = OutboxConfig { email: "smtp".into(), ..Default::default() };
        assert!(err(&c).contains("outbox.smtp.host"), "{}", err(&c));
        let smtp = SmtpConfig { host: "mail.example.com".into(), from: "not an address".into(), ..Default::default() };
        let c = OutboxConfig { email: "smtp".into(), smtp, ..Default::default() };
        assert!(err(&c).contains("outbox.smtp.from"), "{}", err(&c));
        let smtp = SmtpConfig { host: "mail.example.com".into(), username: "u".into(), ..Default::default() };
        let c = OutboxConfig { email: "smtp".into(), smtp, ..Default::default() };
        assert!(err(&c).contains("password"), "{}", err(&c));
    }

    #[test]
    fn smtp_with_host_builds_for_every_security() {
        for security in [SmtpSecurity::Starttls, SmtpSecurity::Tls, SmtpSecurity::None] {
            let smtp = SmtpConfig { host: "mail.example.com".into(), security, ..Default::default() };
            let c = OutboxConfig { email: "smtp".into(), smtp, ..Default::default() };
            assert!(from_config(&c, Path::new("/nonexistent")).is_ok(), "{security:?}");
        }
    }

    #[test]
    fn sms_webhook_without_secret_is_refused() {
        let sms_webhook = SmsWebhookConfig { url: "https://sms.example.com/send".into(), ..Default::default() };
        let c = OutboxConfig { sms: "sms-webhook".into(), sms_webhook, ..Default::default() };
        assert!(err(&c).contains("outbox.sms_webhook.secret"), "{}", err(&c));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = OutboxConfig {
            smtp: SmtpConfig { password: "hunter2".into(), ..Default::default() },
            sms_webhook: SmsWebhookConfig { secret: "s3cr3t".into(), ..Default::default() },
            ..Default::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cr3t"), "{shown}");
    }
}
