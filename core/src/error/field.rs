//! Which input field is invalid: typed, so the edge picks the message by variant, not by string.

/// The input field carried by `Error::Invalid`; `as_str` is the field's name in requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `account_name`.
    AccountName,
    /// `address`.
    Address,
    /// `alg`.
    Alg,
    /// `auth_method`.
    AuthMethod,
    /// `authorization_endpoint`.
    AuthorizationEndpoint,
    /// `channel`.
    Channel,
    /// `claims.subject`.
    ClaimsSubject,
    /// `client_id`.
    ClientId,
    /// `client_secret_jwt.private_key`.
    ClientSecretJwtPrivateKey,
    /// `config`.
    Config,
    /// `credential`.
    Credential,
    /// `current_code`.
    CurrentCode,
    /// `developer_type`.
    DeveloperType,
    /// `device_id`.
    DeviceId,
    /// `device_name`.
    DeviceName,
    /// `display_name`.
    DisplayName,
    /// `email`.
    Email,
    /// `fields`.
    Fields,
    /// `gateway`.
    Gateway,
    /// `grant`.
    Grant,
    /// `icon`.
    Icon,
    /// `id`.
    Id,
    /// `identifier`.
    Identifier,
    /// `issuer`.
    Issuer,
    /// `label`.
    Label,
    /// `method`.
    Method,
    /// `mobile`.
    Mobile,
    /// `name`.
    Name,
    /// `password`.
    Password,
    /// `password_hash`.
    PasswordHash,
    /// `plugin`.
    Plugin,
    /// `post_logout_redirect_uri`.
    PostLogoutRedirectUri,
    /// `public_url`.
    PublicUrl,
    /// `reason`.
    Reason,
    /// `redirect_uri`.
    RedirectUri,
    /// `resource_server`.
    ResourceServer,
    /// `secret`.
    Secret,
    /// `subject`.
    Subject,
    /// `tenant`.
    Tenant,
    /// `token_endpoint`.
    TokenEndpoint,
    /// `userinfo_endpoint`.
    UserinfoEndpoint,
    /// `value`.
    Value,
}

impl Field {
    /// The word in messages and JSON descriptions (unchanged from the string payloads).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::AccountName => "account_name",
            Field::Address => "address",
            Field::Alg => "alg",
            Field::AuthMethod => "auth_method",
            Field::AuthorizationEndpoint => "authorization_endpoint",
            Field::Channel => "channel",
            Field::ClaimsSubject => "claims.subject",
            Field::ClientId => "client_id",
            Field::ClientSecretJwtPrivateKey => "client_secret_jwt.private_key",
            Field::Config => "config",
            Field::Credential => "credential",
            Field::CurrentCode => "current_code",
            Field::DeveloperType => "developer_type",
            Field::DeviceId => "device_id",
            Field::DeviceName => "device_name",
            Field::DisplayName => "display_name",
            Field::Email => "email",
            Field::Fields => "fields",
            Field::Gateway => "gateway",
            Field::Grant => "grant",
            Field::Icon => "icon",
            Field::Id => "id",
            Field::Identifier => "identifier",
            Field::Issuer => "issuer",
            Field::Label => "label",
            Field::Method => "method",
            Field::Mobile => "mobile",
            Field::Name => "name",
            Field::Password => "password",
            Field::PasswordHash => "password_hash",
            Field::Plugin => "plugin",
            Field::PostLogoutRedirectUri => "post_logout_redirect_uri",
            Field::PublicUrl => "public_url",
            Field::Reason => "reason",
            Field::RedirectUri => "redirect_uri",
            Field::ResourceServer => "resource_server",
            Field::Secret => "secret",
            Field::Subject => "subject",
            Field::Tenant => "tenant",
            Field::TokenEndpoint => "token_endpoint",
            Field::UserinfoEndpoint => "userinfo_endpoint",
            Field::Value => "value",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
