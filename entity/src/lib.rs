//! sea-orm entities for ContentGate's system tables. Timestamps are microseconds since
//! the Unix epoch in every table: one integer representation sorts and compares the same
//! way on SQLite and PostgreSQL.
#![forbid(unsafe_code)]

pub mod account;
pub mod admin;
pub mod admin_account;
pub mod admin_session;
pub mod api_key;
pub mod audit_entry;
pub mod content_object;
pub mod content_ref;
pub mod content_type;
pub mod key_rule;
pub mod login_failure;
