//! End-to-end tests: a real server on a loopback port with a temporary data
//! directory, driven as apps (the openidconnect crate as relying party) and browsers
//! (plain HTTP with cookies) drive it. One test binary; see `kit` for the harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account_center;
mod admin;
mod code_flow;
mod developer;
mod devices;
mod federation;
mod guessing;
mod kit;
mod negative;
mod outbox;
mod pages;
mod peers;
mod plugins;
mod process;
mod protocol_hardening;
mod recovery;
mod registration;
mod review_page;
mod security;
mod sessions;
mod takeover;
mod tokens;
mod two_step;
mod upstream_client;
mod web_hardening;
