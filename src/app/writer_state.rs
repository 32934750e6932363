//! What the transfer writer remembers of ledger heads and account totals from
//! one batch to the next, so a batch reads from the database only what it has
//! not seen.
//!
//! The copy is exact only while no other connection has committed: on SQLite
//! the writer's batch runs under the database's one write lock, and
//! `PRAGMA data_version` changes whenever another connection (a pooled request,
//! another process) commits, so the copy is dropped then. PostgreSQL may have
//! writers in other processes and no such counter: nothing is kept there.

use std::collections::HashMap;

use crate::domain::{AccountId, LedgerId};
use crate::ledger::{AccountState, LedgerHead};

/// Beyond this many accounts the copy starts again empty: it is a cache of the
/// accounts in use, not of the whole database.
const MAX_ACCOUNTS: usize = 200_000;

#[derive(Default)]
pub struct WriterState {
    /// The `data_version` the copy is exact at; `None`: no copy.
    exact_at: Option<i64>,
    heads: HashMap<LedgerId, LedgerHead>,
    accounts: HashMap<AccountId, AccountState>,
}

/// The state a batch starts from: whatever of the copy is still exact.
pub struct Carried {
    pub data_version: Option<i64>,
    pub heads: HashMap<LedgerId, LedgerHead>,
    pub accounts: HashMap<AccountId, AccountState>,
}

impl WriterState {
    /// Hands the copy to a batch whose transaction saw `data_version` (`None`:
    /// the database cannot tell, so nothing is carried).
    pub fn take(&mut self, data_version: Option<i64>) -> Carried {
        if data_version.is_none() || data_version != self.exact_at {
            self.forget();
        }
        self.exact_at = None;
        Carried {
            data_version,
            heads: std::mem::take(&mut self.heads),
            accounts: std::mem::take(&mut self.accounts),
        }
    }

    /// Keeps what a committed batch ended with.
    pub fn keep(&mut self, state: Carried) {
        if state.data_version.is_none() || state.accounts.len() > MAX_ACCOUNTS {
            return;
        }
        self.exact_at = state.data_version;
        self.heads = state.heads;
        self.accounts = state.accounts;
    }

    /// After a failed batch: the database may hold something else now.
    pub fn forget(&mut self) {
        self.exact_at = None;
        self.heads.clear();
        self.accounts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountKind;

    fn account() -> AccountState {
        AccountState::opened(LedgerId::generate(), AccountKind::Volunteer)
    }

    fn with_one(version: Option<i64>) -> Carried {
        let a = account();
        Carried {
            data_version: version,
            heads: HashMap::new(),
            accounts: HashMap::from([(a.id, a)]),
        }
    }

    #[test]
    fn carries_only_while_nobody_else_committed() {
        let mut state = WriterState::default();
        state.keep(with_one(Some(7)));
        assert_eq!(state.take(Some(7)).accounts.len(), 1);
        // Taken means gone until kept again.
        assert!(state.take(Some(7)).accounts.is_empty());

        state.keep(with_one(Some(7)));
        assert!(state.take(Some(8)).accounts.is_empty());
        // A stale copy is dropped, not kept for later.
        assert!(state.take(Some(7)).accounts.is_empty());
    }

    #[test]
    fn keeps_nothing_without_a_data_version_or_after_a_failure() {
        let mut state = WriterState::default();
        state.keep(with_one(None));
        assert!(state.take(None).accounts.is_empty());

        state.keep(with_one(Some(1)));
        state.forget();
        assert!(state.take(Some(1)).accounts.is_empty());
    }
}
