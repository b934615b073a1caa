//! R37 delivery: the senders built by `outbox::from_config` from real configuration,
//! talking to real peers over loopback (an SMTP sink, an SMS gateway) or writing the
//! outbox file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use latchkey::outbox::{self, OutboxConfig, SmsWebhookConfig, SmtpConfig, SmtpSecurity, render};
use latchkey_core::Error;
use latchkey_core::code::{Channel, Destination, Message, MessageKind, Outbox, Purpose};
use serde_json::Value;

use crate::peers::{SmsGateway, SmtpSink};

const GATEWAY_SECRET: &str = "gateway-shared-secret";

fn code_message(to: Destination, locale: &str, code: &str) -> Message {
    Message {
        tenant: "acme".into(),
        to,
        locale: locale.into(),
        kind: MessageKind::Code { purpose: Purpose::SignIn, code: code.into(), minutes: 5 },
    }
}

fn mobile(channel: Channel, number: &str) -> Destination {
    Destination { channel, address: number.into() }
}

fn smtp_config(sink: &SmtpSink, password: &str) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port(),
        security: SmtpSecurity::None,
        username: SmtpSink::USER.into(),
        password: password.into(),
        from: "Latchkey <no-reply@latchkey.test>".into(),
    }
}

fn webhook_config(gateway: &SmsGateway, secret: &str) -> SmsWebhookConfig {
    SmsWebhookConfig { url: gateway.url(), secret: secret.into(), timeout_ms: 2000 }
}

fn build(config: OutboxConfig, data_dir: &Path) -> Arc<dyn Outbox> {
    outbox::from_config(&config, data_dir).unwrap()
}

/// Asserts a failed delivery is `Error::Delivery` and does not quote the code.
fn assert_delivery_error(result: latchkey_core::Result<()>, code: &str) {
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Delivery(_)), "{err:?}");
    assert_eq!(err.code(), "delivery_failed");
    assert!(!format!("{err:?}").contains(code), "the error quotes the code: {err:?}");
}

#[tokio::test]
async fn r37_smtp_delivers_the_code_in_zh_cn_and_en_after_auth() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config =
        OutboxConfig { email: "smtp".into(), smtp: smtp_config(&sink, SmtpSink::PASSWORD), ..OutboxConfig::default() };
    let outbox = build(config, dir.path());

    for (to, locale, code) in [("li.lei@example.com", "zh-CN", "482913"), ("ann@example.com", "en", "605117")] {
        let message = code_message(Destination::email(to), locale, code);
        outbox.deliver(&message).await.unwrap();
        let mail = sink.wait_for(to).await;
        let expected = render::render(&message);

        assert_eq!(mail.auth_user.as_deref(), Some(SmtpSink::USER), "{locale}: sent without AUTH");
        assert_eq!(mail.from, "no-reply@latchkey.test");
        assert_eq!(mail.to, vec![to.to_string()]);
        assert_eq!(mail.subject(), expected.subject, "{locale}");
        assert_eq!(mail.decoded_body().trim_end(), expected.body, "{locale}");
        assert_eq!(mail.code().as_deref(), Some(code), "{locale}");
        assert!(mail.header("Message-ID").unwrap().ends_with("@latchkey.test>"));
        let content_type = mail.header("Content-Type").unwrap().to_ascii_lowercase();
        assert!(content_type.starts_with("text/plain") && content_type.contains("utf-8"), "{content_type}");
    }
    // Email never falls back to the file.
    assert!(!dir.path().join("outbox.jsonl").exists());
}

#[tokio::test]
async fn r37_smtp_wrong_password_is_a_delivery_error() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = OutboxConfig { email: "smtp".into(), smtp: smtp_config(&sink, "wrong"), ..OutboxConfig::default() };
    let outbox = build(config, dir.path());

    let result = outbox.deliver(&code_message(Destination::email("ann@example.com"), "en", "731946")).await;
    assert_delivery_error(result, "731946");
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn r37_sms_webhook_posts_signed_json_with_the_code() {
    let gateway = SmsGateway::start(GATEWAY_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let config = OutboxConfig {
        sms: "sms-webhook".into(),
        sms_webhook: webhook_config(&gateway, GATEWAY_SECRET),
        ..OutboxConfig::default()
    };
    let outbox = build(config, dir.path());

    let cases = [(Channel::Sms, "+8613800138000", "zh-CN", "193746"), (Channel::Voice, "+14155550100", "en", "550281")];
    for (channel, number, locale, code) in cases {
        let message = code_message(mobile(channel, number), locale, code);
        outbox.deliver(&message).await.unwrap();
        // The gateway keeps only requests whose signature and timestamp it verified.
        let got = gateway.wait_for(number).await;
        assert_eq!(got["channel"], if channel == Channel::Sms { "sms" } else { "voice" });
        assert_eq!(got["tenant"], "acme");
        assert_eq!(got["locale"], locale);
        assert_eq!(got["kind"], "code");
        assert_eq!(got["purpose"], "sign_in");
        assert_eq!(got["text"], Value::from(render::render(&message).body));
        assert_eq!(gateway.code_for(number).await.as_deref(), Some(code));
    }
    assert_eq!(gateway.refused(), 0);
    assert!(!dir.path().join("outbox.jsonl").exists());
}

#[tokio::test]
async fn r37_sms_webhook_with_a_wrong_secret_is_refused_as_a_delivery_error() {
    let gateway = SmsGateway::start(GATEWAY_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let config = OutboxConfig {
        sms: "sms-webhook".into(),
        sms_webhook: webhook_config(&gateway, "not-the-gateway-secret"),
        ..OutboxConfig::default()
    };
    let outbox = build(config, dir.path());

    let result = outbox.deliver(&code_message(mobile(Channel::Sms, "+8613800138001"), "zh-CN", "864202")).await;
    assert_delivery_error(result, "864202");
    assert_eq!(gateway.refused(), 1);
    assert!(gateway.accepted().is_empty());
}

#[tokio::test]
async fn r37_sms_gateway_failure_is_a_delivery_error() {
    let gateway = SmsGateway::start(GATEWAY_SECRET).await;
    gateway.set_failing(true);
    let dir = tempfile::tempdir().unwrap();
    let config = OutboxConfig {
        sms: "sms-webhook".into(),
        sms_webhook: webhook_config(&gateway, GATEWAY_SECRET),
        ..OutboxConfig::default()
    };
    let outbox = build(config, dir.path());
    let message = code_message(mobile(Channel::Sms, "+8613800138002"), "en", "317590");

    assert_delivery_error(outbox.deliver(&message).await, "317590");
    assert_eq!(gateway.refused(), 0, "the signature was right; the gateway failed");

    // Once the gateway recovers the same sender delivers.
    gateway.set_failing(false);
    outbox.deliver(&message).await.unwrap();
    assert_eq!(gateway.code_for("+8613800138002").await.as_deref(), Some("317590"));
}

#[tokio::test]
async fn r37_sms_gateway_too_slow_is_a_delivery_error() {
    let gateway = SmsGateway::start(GATEWAY_SECRET).await;
    gateway.set_delay(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let sms_webhook = SmsWebhookConfig { timeout_ms: 200, ..webhook_config(&gateway, GATEWAY_SECRET) };
    let config = OutboxConfig { sms: "sms-webhook".into(), sms_webhook, ..OutboxConfig::default() };
    let outbox = build(config, dir.path());

    let result = outbox.deliver(&code_message(mobile(Channel::Sms, "+8613800138003"), "en", "402618")).await;
    assert_delivery_error(result, "402618");
}

#[tokio::test]
async fn r37_email_and_mobile_messages_each_go_to_their_own_sender() {
    let sink = SmtpSink::start().await;
    let gateway = SmsGateway::start(GATEWAY_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let config = OutboxConfig {
        email: "smtp".into(),
        sms: "sms-webhook".into(),
        smtp: smtp_config(&sink, SmtpSink::PASSWORD),
        sms_webhook: webhook_config(&gateway, GATEWAY_SECRET),
        ..OutboxConfig::default()
    };
    let outbox = build(config, dir.path());

    outbox.deliver(&code_message(Destination::email("both@example.com"), "en", "120934")).await.unwrap();
    outbox.deliver(&code_message(mobile(Channel::Sms, "+8613800138004"), "zh-CN", "998877")).await.unwrap();

    assert_eq!(sink.wait_for("both@example.com").await.code().as_deref(), Some("120934"));
    assert_eq!(gateway.code_for("+8613800138004").await.as_deref(), Some("998877"));
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(gateway.accepted().len(), 1);
    assert!(!dir.path().join("outbox.jsonl").exists());
}

#[tokio::test]
async fn r37_file_sender_appends_one_json_line_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = build(OutboxConfig::default(), dir.path());

    let email = code_message(Destination::email("file@example.com"), "zh-CN", "246810");
    let sms = code_message(mobile(Channel::Sms, "+8613800138005"), "en", "135792");
    outbox.deliver(&email).await.unwrap();
    outbox.deliver(&sms).await.unwrap();

    let text = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["to"], "file@example.com");
    assert_eq!(lines[0]["channel"], "email");
    assert_eq!(lines[0]["subject"], Value::from(render::render(&email).subject));
    assert!(lines[0]["body"].as_str().unwrap().contains("246810"));
    assert_eq!(lines[1]["to"], "+8613800138005");
    assert_eq!(lines[1]["channel"], "sms");
    assert!(lines[1]["body"].as_str().unwrap().contains("135792"));
}

#[tokio::test]
async fn r37_incomplete_sender_settings_fail_at_build_time() {
    let dir = tempfile::tempdir().unwrap();
    let no_host = OutboxConfig { email: "smtp".into(), ..OutboxConfig::default() };
    let err = format!("{:#}", outbox::from_config(&no_host, dir.path()).err().unwrap());
    assert!(err.contains("outbox.smtp.host"), "{err}");

    let no_url = OutboxConfig { sms: "sms-webhook".into(), ..OutboxConfig::default() };
    let err = format!("{:#}", outbox::from_config(&no_url, dir.path()).err().unwrap());
    assert!(err.contains("outbox.sms_webhook.url"), "{err}");
}
