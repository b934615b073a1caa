//! Sign-in with third-party accounts (R17), the HTTP side: talking to upstream
//! OpenID Connect and OAuth 2 providers. What a sign-in may do with the identity it
//! gets (link, create, ask) is `latchkey_core::federation`.

pub mod client;
pub mod client_secret;
