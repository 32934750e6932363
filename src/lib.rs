//! timebank: a double-entry ledger for volunteer time banks.
//!
//! Layers, one way: `http` -> `app` -> `ledger` -> `store`, over typed `domain`
//! values.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod store;
pub mod telemetry;
