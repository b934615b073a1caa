//! JSON APIs: the admin API, the account center API and the public account API.

pub mod account;
pub mod admin;
pub mod caller;
pub mod developer;
pub mod devices;
pub mod plugins;
pub mod public;
pub mod review;
pub mod upstreams;
