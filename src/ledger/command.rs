//! What the engine is asked to do.

use chrono::{DateTime, Utc};

use crate::domain::{AccountId, Amount, Direction, LedgerId, TransferId, TransferKind};

#[derive(Clone, Debug)]
pub struct LegRequest {
    pub account_id: AccountId,
    pub direction: Direction,
    pub amount: Amount,
}

/// Who acted and why, carried by every command into the journal.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    pub actor_id: String,
    pub on_behalf_of: Option<String>,
    pub description: Option<String>,
    pub external_ref: Option<String>,
    /// Canonical JSON text.
    pub metadata: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct NewTransfer {
    /// When given, every posting must be on this ledger.
    pub ledger_id: Option<LedgerId>,
    pub kind: TransferKind,
    pub legs: Vec<LegRequest>,
    /// Hold the amounts (two-phase) instead of posting them at once.
    pub pending: bool,
    pub timeout_at: Option<DateTime<Utc>>,
    pub provenance: Provenance,
}

/// Settling a hold: capture it (post) or release it (void).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Post,
    Void,
}

#[derive(Clone, Debug)]
pub enum Command {
    Create(NewTransfer),
    Resolve {
        pending_id: TransferId,
        resolution: Resolution,
        provenance: Provenance,
    },
    Reverse {
        original_id: TransferId,
        provenance: Provenance,
    },
}

impl Command {
    /// Accounts named directly by the command (resolutions name them through the
    /// transfer they refer to).
    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        let legs: &[LegRequest] = match self {
            Command::Create(t) => &t.legs,
            _ => &[],
        };
        legs.iter().map(|l| l.account_id)
    }

    /// The earlier transfer this command settles or reverses.
    pub fn referenced_transfer(&self) -> Option<TransferId> {
        match self {
            Command::Create(_) => None,
            Command::Resolve { pending_id, .. } => Some(*pending_id),
            Command::Reverse { original_id, .. } => Some(*original_id),
        }
    }
}
