//! Server-rendered pages (sign-in, registration, recovery, consent, the account
//! center), English and Simplified Chinese, working without JavaScript, with a CSRF
//! token on every form.

pub mod account;
pub mod channel;
pub mod consent;
pub mod developer;
pub mod device;
pub mod email_confirm;
pub mod federated;
pub mod login;
pub mod passkey_login;
pub mod password;
pub mod qr;
pub mod recover;
pub mod register;
pub mod review;
pub mod security;
pub mod signed_in;
pub mod verify;

pub fn router() -> axum::Router<crate::state::AppState> {
    login::router()
        .merge(consent::router())
        .merge(register::router())
        .merge(recover::router())
        .merge(account::router())
        .merge(password::router())
        .merge(channel::router())
        .merge(email_confirm::router())
        .merge(developer::router())
        .merge(device::router())
        .merge(review::router())
        .merge(verify::router())
        .merge(passkey_login::router())
        .merge(federated::router())
        .merge(security::router())
}
