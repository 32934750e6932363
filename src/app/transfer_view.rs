//! How a transfer is shown to clients.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{AccountId, Direction, LedgerId, Phase, TransferId, TransferKind};
use crate::ledger::JournalEntry;
use crate::store::journal::Aftermath;

/// Where a transfer stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Balances moved.
    Posted,
    /// Amounts held, waiting to be posted or voided.
    Pending,
    /// A hold released without moving balances (by hand or when it expired).
    Voided,
}

/// One leg of a recorded transfer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
    "direction": "credit",
    "amount": "12.50",
    "pending": false
})))]
pub struct PostingView {
    /// The account the leg landed on.
    pub account_id: AccountId,
    /// `debit` or `credit`.
    pub direction: Direction,
    /// Decimal string in the ledger's scale.
    #[schema(example = "12.50")]
    pub amount: String,
    /// Part of a hold (moves pending totals only).
    pub pending: bool,
}

/// A recorded transfer (journal entry) with its postings, status and place in the hash chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d06",
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "sequence": 42,
    "kind": "hours_credit",
    "phase": "posted",
    "status": "posted",
    "postings": [
        {
            "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d03",
            "direction": "debit",
            "amount": "12.50",
            "pending": false
        },
        {
            "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
            "direction": "credit",
            "amount": "12.50",
            "pending": false
        }
    ],
    "pending_id": null,
    "reverses_id": null,
    "settled_by": null,
    "reversed_by": null,
    "timeout_at": null,
    "external_ref": "event-2026-03-14-park-cleanup",
    "description": "Park clean-up, 2.5 hours",
    "metadata": {
        "hours": "2.5"
    },
    "actor_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d07",
    "on_behalf_of": null,
    "event_time": "2026-03-14T09:30:00Z",
    "recorded_at": "2026-03-14T09:30:00Z",
    "hash": "9f2c4e1a00000000000000000000000000000000000000000000000000000000",
    "prev_hash": "0000000000000000000000000000000000000000000000000000000000000000"
})))]
pub struct TransferView {
    /// The transfer's id.
    pub id: TransferId,
    /// The ledger of every posting.
    pub ledger_id: LedgerId,
    /// Position in the ledger's journal, from 1, without gaps.
    pub sequence: i64,
    /// The business act it records.
    pub kind: TransferKind,
    /// `posted` (moved at once), `pending` (a hold), `post_pending` or `void_pending` (settles a hold).
    pub phase: Phase,
    /// Where it stands now.
    pub status: TransferStatus,
    /// Its legs, debits equal to credits.
    pub postings: Vec<PostingView>,
    /// The hold this transfer posts or voids.
    pub pending_id: Option<TransferId>,
    /// The transfer this one reverses.
    pub reverses_id: Option<TransferId>,
    /// For a hold: the transfer that posted or voided it.
    pub settled_by: Option<TransferId>,
    /// The transfer that reversed this one.
    pub reversed_by: Option<TransferId>,
    /// For a hold: when it is released by itself if not settled.
    pub timeout_at: Option<DateTime<Utc>>,
    /// The caller's own reference.
    pub external_ref: Option<String>,
    /// Free text shown on statements.
    pub description: Option<String>,
    /// The free JSON object given when it was recorded.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// The user who made the request.
    pub actor_id: String,
    /// The person the caller acted for.
    pub on_behalf_of: Option<String>,
    /// When the service happened or the sale was made.
    pub event_time: DateTime<Utc>,
    /// When the service recorded it.
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 over this transfer and `prev_hash`.
    pub hash: String,
    /// Hash of the ledger's previous transfer (all zeros for the first).
    pub prev_hash: String,
}

impl TransferView {
    pub fn new(entry: &JournalEntry, scale: u32, after: &Aftermath) -> Self {
        let t = &entry.transfer;
        let status = match t.phase {
            Phase::Posted | Phase::PostPending => TransferStatus::Posted,
            Phase::VoidPending => TransferStatus::Voided,
            Phase::Pending => match after.settled_by {
                Some((_, Phase::PostPending)) => TransferStatus::Posted,
                Some(_) => TransferStatus::Voided,
                None => TransferStatus::Pending,
            },
        };
        Self {
            id: t.id,
            ledger_id: t.ledger_id,
            sequence: t.sequence,
            kind: t.kind,
            phase: t.phase,
            status,
            postings: entry
                .postings
                .iter()
                .map(|p| PostingView {
                    account_id: p.account_id,
                    direction: p.direction,
                    amount: p.amount.to_decimal_string(scale),
                    pending: p.pending,
                })
                .collect(),
            pending_id: t.pending_id,
            reverses_id: t.reverses_id,
            settled_by: after.settled_by.map(|(id, _)| id),
            reversed_by: after.reversed_by,
            timeout_at: t.timeout_at,
            external_ref: t.external_ref.clone(),
            description: t.description.clone(),
            metadata: t
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            actor_id: t.actor_id.clone(),
            on_behalf_of: t.on_behalf_of.clone(),
            event_time: t.event_time,
            recorded_at: t.recorded_at,
            hash: t.hash.clone(),
            prev_hash: t.prev_hash.clone(),
        }
    }

    /// The body of the 201 that created `id`, exactly as first sent: a created
    /// transfer is shown with nothing yet settled or reversed.
    pub fn first_answer(
        conn: &mut crate::store::DbConnection,
        id: TransferId,
    ) -> Result<String, crate::error::AppError> {
        use crate::error::AppError;
        let entry = crate::store::journal::get(conn, &id)?
            .ok_or_else(|| AppError::internal(format!("replayed transfer {id} is missing")))?;
        let scale = crate::store::ledgers::heads(conn, &[entry.transfer.ledger_id])?
            .get(&entry.transfer.ledger_id)
            .map_or(0, |h| h.asset_scale);
        serde_json::to_string(&Self::new(&entry, scale, &Aftermath::default()))
            .map_err(AppError::internal)
    }

    pub fn location(&self) -> String {
        format!("/v1/transfers/{}", self.id)
    }
}
