//! Latchkey, the server: OpenID Connect endpoints, pages, admin API, CLI.

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod demo;
pub mod federation;
pub mod headers;
pub mod oidc;
pub mod outbox;
pub mod plugin_cli;
pub mod plugins;
pub mod server;
pub mod state;
pub mod ui;
pub mod web;
