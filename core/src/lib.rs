//! Latchkey's identity domain: tenants, accounts, clients, grants, sessions, keys and
//! the store they live in. No HTTP here; the provider crate calls these services.

pub mod account;
pub mod admin_session;
pub mod audit;
pub mod captcha;
pub mod client;
pub mod clock;
pub mod code;
pub mod credential;
pub mod developer;
pub mod device;
pub mod error;
pub mod federation;
pub mod grant;
pub mod identifier;
pub mod jwt;
pub mod keys;
pub mod limit;
pub mod policy;
pub mod redirect_uri;
pub mod seal;
pub mod secret;
pub mod session;
pub mod settings;
pub mod signin;
pub mod store;
pub mod sweep;
pub mod tenant;
pub mod token_record;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DevicePoll, Error, Field, IdentifierKind, Refusal, Resource, Result};
pub use store::Store;
