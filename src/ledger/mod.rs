//! The posting engine: validates transfers against account state, moves balances,
//! numbers and hash-chains the journal, and audits it afterwards. It knows nothing
//! of HTTP or of SQL; the store loads state for it and writes what it produces.
//!
//! Money arithmetic here is checked or explicitly saturating, never wrapping: a
//! wrapped total would show a balance nobody holds.
#![deny(clippy::arithmetic_side_effects)]

pub mod audit;
pub mod command;
pub mod engine;
pub mod error;
pub mod hash;
pub mod records;
pub mod state;

pub use command::{Command, LegRequest, NewTransfer, Resolution};
pub use engine::Engine;
pub use error::LedgerError;
pub use records::{JournalEntry, PostingRecord, TransferRecord};
pub use state::{AccountState, ExistingTransfer, LedgerHead};
