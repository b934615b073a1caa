//! What the account system sends people, and the trait that delivers it. Messages are
//! structured; the provider renders them per locale and hands them to a sender
//! (file, SMTP, SMS webhook).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::code::Purpose;
use crate::error::Result;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Voice,
    Email,
}

/// Where a message goes: a mobile number (sms, voice) or an email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub channel: Channel,
    pub address: String,
}

impl Destination {
    pub fn email(address: &str) -> Self {
        Destination { channel: Channel::Email, address: address.to_string() }
    }
    pub fn sms(address: &str) -> Self {
        Destination { channel: Channel::Sms, address: address.to_string() }
    }
    pub fn is_email(&self) -> bool {
        self.channel == Channel::Email
    }
}

/// A security notice (R38).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    PasswordChanged,
    EmailChanged {
        new_email: String,
    },
    MobileChanged {
        new_mobile: String,
    },
    NewDeviceSignIn {
        user_agent: String,
        ip: String,
    },
    /// This account's mobile moved to a new owner who proved possession (R9).
    MobileReassigned {
        mobile: String,
    },
    /// 2-step verification was turned on or off (R38).
    TwoStepEnabled,
    TwoStepDisabled,
    /// A passkey was added to the account.
    PasskeyAdded {
        label: String,
    },
    /// A recovery code was used to sign in.
    RecoveryCodeUsed {
        remaining: usize,
    },
    /// An authenticator app was set up (R20, R38).
    TotpEnabled,
    /// A new set of recovery codes was made (R20, R38).
    RecoveryCodesGenerated {
        count: usize,
    },
    /// A third-party account was linked (R28, R38): it signs this account in now.
    UpstreamLinked {
        upstream: String,
    },
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageKind {
    /// A one-time code.
    Code {
        purpose: Purpose,
        code: String,
        minutes: u64,
    },
    /// A link to follow instead of typing a code (email verification, recovery).
    Link {
        purpose: Purpose,
        url: String,
        hours: u64,
    },
    /// The account names bound to a mobile number (forgot account, R35).
    AccountNames {
        names: Vec<String>,
    },
    Notice(Notice),
}

/// A message to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub tenant: String,
    pub to: Destination,
    /// `en` or `zh-CN`.
    pub locale: String,
    pub kind: MessageKind,
}

/// Delivers messages. Implementations must not log code values or links.
pub trait Outbox: Send + Sync + 'static {
    fn deliver<'a>(&'a self, message: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;
}
