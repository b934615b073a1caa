//! The `smtp` sender: email through an SMTP submission server (lettre), one plain-text
//! UTF-8 message per delivery. The transport is built once from `[outbox.smtp]`; each
//! delivery opens its own connection, so a restarted mail server needs no reconnect logic.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use anyhow::{Context, bail};
use latchkey_core::code::{Channel, Message, Outbox};
use latchkey_core::{Error, Result};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::outbox::render;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; refuses to go on if the server cannot
    /// (no downgrade). Usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS). Usually port 465.
    Tls,
    /// No encryption: a local relay or a test sink only; credentials travel in clear.
    None,
}

/// `[outbox.smtp]` in the configuration.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name; also the name its TLS certificate must carry.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// AUTH user; empty together with `password` means no AUTH.
    pub username: String,
    pub password: String,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: String::new(),
            from: "Latchkey <no-reply@localhost>".into(),
        }
    }
}

// The password stays out of logs and panic messages.
impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "<redacted>" })
            .field("from", &self.from)
            .finish()
    }
}

/// Sends email through the configured SMTP server.
pub struct SmtpOutbox {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpOutbox {
    /// Checks the configuration and builds the transport (no connection is made yet).
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        if config.host.trim().is_empty() {
            bail!("outbox.email = \"smtp\" needs outbox.smtp.host");
        }
        if config.port == 0 {
            bail!("outbox.smtp.port must not be 0");
        }
        if config.username.is_empty() != config.password.is_empty() {
            bail!("outbox.smtp.username and outbox.smtp.password are set together, or both left empty for no AUTH");
        }
        let from: Mailbox = config
            .from
            .parse()
            .with_context(|| format!("outbox.smtp.from = {:?} is not an email address", config.from))?;
        let tls = match config.security {
            SmtpSecurity::Starttls => Tls::Required(tls_parameters(&config.host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
            SmtpSecurity::None => {
                if !config.username.is_empty() {
                    tracing::warn!(host = %config.host, "outbox.smtp.security = \"none\": the SMTP password is sent unencrypted");
                }
                Tls::None
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str()).port(config.port).tls(tls);
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(config.username.clone(), config.password.clone()));
        }
        Ok(SmtpOutbox { transport: builder.build(), from })
    }

    async fn send(&self, message: &Message) -> Result<()> {
        if message.to.channel != Channel::Email {
            return Err(Error::Delivery("smtp: only email destinations are sent by SMTP".into()));
        }
        let to: Mailbox = message
            .to
            .address
            .parse()
            .map_err(|_| Error::Delivery("smtp: the recipient is not an email address".into()))?;
        let text = render::render(message);
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(text.subject)
            // Many relays add a Message-ID, not all; spam filters penalise its absence.
            .message_id(Some(format!("<{:032x}@{}>", rand::random::<u128>(), self.from.email.domain())))
            .header(ContentType::TEXT_PLAIN)
            .body(text.body)
            .map_err(|e| Error::Delivery(format!("smtp: building the message: {e}")))?;
        // lettre's errors carry the server's reply and the error kind, never the message.
        self.transport.send(email).await.map(|_| ()).map_err(|e| Error::Delivery(format!("smtp: {e}")))
    }
}

fn tls_parameters(host: &str) -> anyhow::Result<TlsParameters> {
    TlsParameters::new(host.to_string()).with_context(|| format!("outbox.smtp: TLS settings for {host:?}"))
}

impl Outbox for SmtpOutbox {
    fn deliver<'a>(&'a self, message: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(self.send(message))
    }
}
