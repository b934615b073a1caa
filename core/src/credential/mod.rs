//! Credentials an account proves itself with. Issue 2 has passwords; TOTP and
//! recovery codes come later.

pub mod passkey;
pub mod password;
pub mod policy;
