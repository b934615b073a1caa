//! Sign-in with third-party accounts (R17, R28): upstream OpenID Connect and OAuth 2
//! providers per tenant, the links between an account and an upstream subject, and
//! what a first sign-in with an unknown subject may do (create an account, or link
//! to an existing one after proof; never on an unverified email).

pub mod detour;
pub mod first;
pub mod link;
pub mod upstream;

use serde::{Deserialize, Serialize};

/// Who the upstream says signed in, normalized from an ID token or a userinfo answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    /// The upstream's id (`google`, `wechat`, ...).
    pub upstream: String,
    /// The stable subject at the upstream (`sub`, WeChat `unionid`/`openid`, GitHub `id`).
    pub subject: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Only an email the upstream says it verified may ever lead to a link.
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub phone_verified: bool,
}
