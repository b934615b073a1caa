//! Credentials an account proves itself with: passwords (issue 2), and for the
//! second step an authenticator app (TOTP) and recovery codes (R20).

pub mod passkey;
pub mod password;
pub mod policy;
pub mod recovery_codes;
pub mod totp;
