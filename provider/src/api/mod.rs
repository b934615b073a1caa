//! JSON APIs. Issue 2 has the admin API; the account API comes with issue 3.

pub mod admin;
