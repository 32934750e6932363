//! Re-checks a ledger from its journal alone: the sequence has no gaps, every hash
//! re-computes and links to the one before, every transfer balances, every
//! posting's running balance and version follow, the cached account totals equal
//! the sums of the postings, and the balances of the ledger sum to zero.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::hash::transfer_hash;
use super::records::JournalEntry;
use super::state::{AccountState, LedgerHead};
use crate::domain::{AccountId, Direction, Phase, TransferId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Finding {
    /// What kind of damage: `sequence_gap`, `chain_broken`, `hash_mismatch`,
    /// `unbalanced`, `bad_posting`, `running_balance`, `totals_mismatch`,
    /// `head_mismatch`, `trial_balance`.
    pub problem: String,
    pub sequence: Option<i64>,
    pub transfer_id: Option<TransferId>,
    pub account_id: Option<AccountId>,
    pub detail: String,
}

#[derive(Default, Clone, Copy)]
/// Sums are wider than stored amounts so that a tampered journal is reported,
/// not overflowed.
struct Totals {
    debits_posted: i128,
    credits_posted: i128,
    debits_pending: i128,
    credits_pending: i128,
    version: i64,
}

/// Feed it a ledger's journal in sequence order, then `finish` with the stored
/// accounts and head.
pub struct Auditor {
    expected_sequence: i64,
    expected_prev: String,
    totals: HashMap<AccountId, Totals>,
    open_holds: HashMap<TransferId, Vec<(AccountId, Direction, i128)>>,
    pub transfers_checked: u64,
    findings: Vec<Finding>,
}

impl Default for Auditor {
    fn default() -> Self {
        Self::new()
    }
}

impl Auditor {
    pub fn new() -> Self {
        Self {
            expected_sequence: 1,
            expected_prev: LedgerHead::GENESIS_HASH.to_string(),
            totals: HashMap::new(),
            open_holds: HashMap::new(),
            transfers_checked: 0,
            findings: Vec::new(),
        }
    }

    fn find(&mut self, problem: &str, entry: Option<&JournalEntry>, detail: String) {
        self.findings.push(Finding {
            problem: problem.to_string(),
            sequence: entry.map(|e| e.transfer.sequence),
            transfer_id: entry.map(|e| e.transfer.id),
            account_id: None,
            detail,
        });
    }

    pub fn check(&mut self, entry: &JournalEntry) {
        let t = &entry.transfer;
        self.transfers_checked = self.transfers_checked.saturating_add(1);
        if t.sequence != self.expected_sequence {
            self.find(
                "sequence_gap",
                Some(entry),
                format!(
                    "expected sequence {}, found {}",
                    self.expected_sequence, t.sequence
                ),
            );
        }
        if t.prev_hash != self.expected_prev {
            self.find(
                "chain_broken",
                Some(entry),
                "prev_hash does not match the hash of the transfer before it".into(),
            );
        }
        let recomputed = transfer_hash(t, &entry.postings);
        if recomputed != t.hash {
            self.find(
                "hash_mismatch",
                Some(entry),
                format!(
                    "stored hash {} but the row hashes to {recomputed}: it was edited",
                    t.hash
                ),
            );
        }
        self.expected_sequence = t.sequence.saturating_add(1);
        self.expected_prev = t.hash.clone();

        let (mut debits, mut credits) = (0i128, 0i128);
        for p in &entry.postings {
            // The hash covers the transfer's time; a posting's own copy of it (which
            // balance-as-of reads) must agree.
            if p.amount.minor() <= 0
                || p.ledger_id != t.ledger_id
                || p.transfer_id != t.id
                || p.recorded_at != t.recorded_at
            {
                self.find(
                    "bad_posting",
                    Some(entry),
                    format!(
                        "leg {} has a non-positive amount, another ledger or another time than its transfer",
                        p.leg
                    ),
                );
            }
            match p.direction {
                Direction::Debit => debits = debits.saturating_add(p.amount.minor().into()),
                Direction::Credit => credits = credits.saturating_add(p.amount.minor().into()),
            }
            let totals = self.totals.entry(p.account_id).or_default();
            let side = match (p.direction, p.pending) {
                (Direction::Debit, false) => &mut totals.debits_posted,
                (Direction::Credit, false) => &mut totals.credits_posted,
                (Direction::Debit, true) => &mut totals.debits_pending,
                (Direction::Credit, true) => &mut totals.credits_pending,
            };
            // i128 sums of i64 amounts cannot reach saturation; it only stands
            // in for wrapping, which would hide a tampered row.
            *side = side.saturating_add(p.amount.minor().into());
            totals.version = totals.version.saturating_add(1);
            let balance = totals.credits_posted.saturating_sub(totals.debits_posted);
            let version = totals.version;
            if p.account_version != version || i128::from(p.balance_after.minor()) != balance {
                self.findings.push(Finding {
                    problem: "running_balance".into(),
                    sequence: Some(t.sequence),
                    transfer_id: Some(t.id),
                    account_id: Some(p.account_id),
                    detail: format!(
                        "leg {}: stored version {} balance {}, journal gives version {version} balance {balance}",
                        p.leg,
                        p.account_version,
                        p.balance_after.minor()
                    ),
                });
            }
        }
        let needs_postings = t.phase != Phase::VoidPending;
        if debits != credits || (needs_postings && entry.postings.len() < 2) {
            self.find(
                "unbalanced",
                Some(entry),
                format!("debits {debits} and credits {credits} in minor units"),
            );
        }

        match t.phase {
            Phase::Pending => {
                let legs = entry
                    .postings
                    .iter()
                    .map(|p| (p.account_id, p.direction, i128::from(p.amount.minor())))
                    .collect();
                self.open_holds.insert(t.id, legs);
            }
            Phase::PostPending | Phase::VoidPending => {
                let released = t.pending_id.and_then(|id| self.open_holds.remove(&id));
                match released {
                    Some(legs) => {
                        for (account, direction, amount) in legs {
                            let totals = self.totals.entry(account).or_default();
                            match direction {
                                Direction::Debit => {
                                    totals.debits_pending =
                                        totals.debits_pending.saturating_sub(amount)
                                }
                                Direction::Credit => {
                                    totals.credits_pending =
                                        totals.credits_pending.saturating_sub(amount)
                                }
                            }
                        }
                    }
                    None => self.find(
                        "bad_posting",
                        Some(entry),
                        "settles a hold that is not open".into(),
                    ),
                }
            }
            Phase::Posted => {}
        }
    }

    /// Compares what the journal says with the stored accounts and ledger head.
    pub fn finish(mut self, head: &LedgerHead, accounts: &[AccountState]) -> Vec<Finding> {
        let last = self.expected_sequence.saturating_sub(1);
        if head.last_sequence != last {
            self.find(
                "head_mismatch",
                None,
                format!(
                    "ledger head says sequence {} but the journal ends at {last}",
                    head.last_sequence
                ),
            );
        } else if head.last_hash != self.expected_prev {
            self.find(
                "head_mismatch",
                None,
                format!(
                    "ledger head says hash {} but the journal's last hash is {}",
                    head.last_hash, self.expected_prev
                ),
            );
        }
        let mut trial = 0i128;
        for a in accounts {
            let t = self.totals.get(&a.id).copied().unwrap_or_default();
            let cached = (
                i128::from(a.debits_posted.minor()),
                i128::from(a.credits_posted.minor()),
                i128::from(a.debits_pending.minor()),
                i128::from(a.credits_pending.minor()),
                a.version,
            );
            let summed = (
                t.debits_posted,
                t.credits_posted,
                t.debits_pending,
                t.credits_pending,
                t.version,
            );
            if cached != summed {
                self.findings.push(Finding {
                    problem: "totals_mismatch".into(),
                    sequence: None,
                    transfer_id: None,
                    account_id: Some(a.id),
                    detail: format!(
                        "cached (debits, credits, pending debits, pending credits, version) {cached:?} but postings sum to {summed:?}"
                    ),
                });
            }
            trial = trial.saturating_add(t.credits_posted.saturating_sub(t.debits_posted));
        }
        if trial != 0 {
            self.find(
                "trial_balance",
                None,
                format!("balances of the ledger sum to {trial} minor units, not zero"),
            );
        }
        self.findings
    }
}
