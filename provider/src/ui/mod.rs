//! Server-rendered pages (sign-in, consent, sign-out), English and Simplified Chinese,
//! working without JavaScript, with a CSRF token on every form.

pub mod consent;
pub mod i18n;
pub mod login;
pub mod page;
pub mod signed_in;
pub mod templates;

pub fn router() -> axum::Router<crate::state::AppState> {
    login::router().merge(consent::router())
}
