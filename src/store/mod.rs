//! Storage: diesel over PostgreSQL and SQLite through one `MultiConnection`, one
//! schema and one set of queries. Every query function takes a connection, usually
//! one already inside a transaction; `Store` owns the pool and is the single async
//! boundary the app crosses to reach it.
//!
//! A lookup of one row by a unique key reads with `get_result`, not `first`:
//! `first` binds its `LIMIT 1` as a parameter, and SQLite (3.47 on) lets a
//! bound LIMIT steer the plan, so it prepares such a statement again every
//! time it runs; that was most of the CPU of recording service in a batch.

pub mod accounts;
pub mod activities;
pub mod audit_log;
pub mod check_ins;
pub mod columns;
mod connection;
pub mod constraints;
pub mod database_url;
pub mod earning_rules;
pub mod idempotency;
pub mod journal;
pub mod ledgers;
pub mod login_throttle;
pub mod migrations;
pub mod organisations;
pub mod rows;
pub mod schema;
pub mod service_records;
pub mod service_tallies;
pub mod sessions;
pub mod settings;
pub mod subtree;
pub mod users;
pub mod volunteers;

pub use columns::UtcTime;
pub use connection::{DbConnection, Store, data_version, write_transaction};
pub use database_url::{Backend, DatabaseUrl};

/// The largest number of rows one multi-row INSERT carries (SQLite caps the
/// number of bound parameters per statement).
pub(crate) const INSERT_CHUNK: usize = 400;
