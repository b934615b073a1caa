//! What every edge shares (pages, OIDC endpoints and the JSON APIs): rendering,
//! templates, texts, CSRF, cookies, paths, body extractors, the error table and the
//! answers that send a browser back to an app. `oidc/`, `ui/` and `api/` stand on
//! this and never import each other.

pub mod authorized;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod feedback;
pub mod http;
pub mod i18n;
pub mod page;
pub mod paths;
pub mod respond;
pub mod sign_in;
pub mod templates;
