//! What was not found: typed, so the edge and callers match a variant, not a word.

/// The thing carried by `Error::NotFound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// An account.
    Account,
    /// A confirmed authenticator app.
    Authenticator,
    /// An authenticator app enrolment waiting for its first code.
    AuthenticatorEnrolment,
    /// A registered client.
    Client,
    /// The current value of a channel being changed.
    CurrentValue,
    /// A developer submission.
    DeveloperSubmission,
    /// A bound device.
    Device,
    /// An upstream account linked to this account.
    LinkedAccount,
    /// A passkey.
    Passkey,
    /// An installed plugin.
    Plugin,
    /// The stored bytes of a plugin.
    PluginBytes,
    /// A pending sign-in.
    SignIn,
    /// A tenant.
    Tenant,
    /// A tenant's key ring.
    TenantKeys,
    /// An upstream (federated) identity provider.
    Upstream,
    /// A verified code channel of the account.
    VerifiedChannel,
}

impl Resource {
    /// The word in messages and JSON descriptions (unchanged from the string payloads).
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Account => "account",
            Resource::Authenticator => "authenticator",
            Resource::AuthenticatorEnrolment => "authenticator enrolment",
            Resource::Client => "client",
            Resource::CurrentValue => "current value",
            Resource::DeveloperSubmission => "developer submission",
            Resource::Device => "device",
            Resource::LinkedAccount => "linked account",
            Resource::Passkey => "passkey",
            Resource::Plugin => "plugin",
            Resource::PluginBytes => "plugin bytes",
            Resource::SignIn => "sign-in",
            Resource::Tenant => "tenant",
            Resource::TenantKeys => "tenant keys",
            Resource::Upstream => "upstream",
            Resource::VerifiedChannel => "verified channel",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
