//! What kind of identifier is already taken: typed, so the edge picks the message
//! without matching strings.

/// The kind of identifier carried by `Error::IdentifierTaken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    /// An account name.
    AccountName,
    /// An email address.
    Email,
    /// A mobile number.
    Mobile,
    /// An account id.
    AccountId,
    /// A registered client's id.
    ClientId,
    /// A bound device's id.
    DeviceId,
    /// A tenant id.
    Tenant,
    /// An upstream (federated) account already linked to another account.
    ThirdPartyAccount,
}

impl std::fmt::Display for IdentifierKind {
    /// The words used in error messages (`this email is already taken`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdentifierKind::AccountName => "account name",
            IdentifierKind::Email => "email",
            IdentifierKind::Mobile => "mobile",
            IdentifierKind::AccountId => "account id",
            IdentifierKind::ClientId => "client id",
            IdentifierKind::DeviceId => "device id",
            IdentifierKind::Tenant => "tenant",
            IdentifierKind::ThirdPartyAccount => "third-party account",
        })
    }
}
