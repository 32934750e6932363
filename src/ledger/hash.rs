//! Tamper evidence: each transfer's hash covers a canonical encoding of the
//! transfer, its postings and the previous transfer's hash, so editing any stored
//! row, or removing one, breaks the chain from there on.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::records::{PostingRecord, TransferRecord};

/// Bumped if the encoding ever changes; part of every hash.
const ENCODING_VERSION: u32 = 1;

#[derive(Serialize)]
struct CanonicalTransfer<'a> {
    v: u32,
    id: String,
    ledger_id: String,
    sequence: i64,
    kind: &'a str,
    phase: &'a str,
    pending_id: Option<String>,
    reverses_id: Option<String>,
    timeout_at: Option<String>,
    external_ref: Option<&'a str>,
    description: Option<&'a str>,
    metadata: Option<&'a str>,
    actor_id: &'a str,
    on_behalf_of: Option<&'a str>,
    event_time: String,
    recorded_at: String,
    postings: Vec<CanonicalPosting<'a>>,
    prev_hash: &'a str,
}

#[derive(Serialize)]
struct CanonicalPosting<'a> {
    leg: i32,
    account_id: String,
    direction: &'a str,
    amount: i64,
    pending: bool,
    balance_after: i64,
    account_version: i64,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256, lower-case hex.
pub fn transfer_hash(t: &TransferRecord, postings: &[PostingRecord]) -> String {
    let canonical = CanonicalTransfer {
        v: ENCODING_VERSION,
        id: t.id.to_string(),
        ledger_id: t.ledger_id.to_string(),
        sequence: t.sequence,
        kind: t.kind.as_str(),
        phase: t.phase.as_str(),
        pending_id: t.pending_id.map(|i| i.to_string()),
        reverses_id: t.reverses_id.map(|i| i.to_string()),
        timeout_at: t.timeout_at.as_ref().map(time),
        external_ref: t.external_ref.as_deref(),
        description: t.description.as_deref(),
        metadata: t.metadata.as_deref(),
        actor_id: &t.actor_id,
        on_behalf_of: t.on_behalf_of.as_deref(),
        event_time: time(&t.event_time),
        recorded_at: time(&t.recorded_at),
        postings: postings
            .iter()
            .map(|p| CanonicalPosting {
                leg: p.leg,
                account_id: p.account_id.to_string(),
                direction: p.direction.as_str(),
                amount: p.amount.minor(),
                pending: p.pending,
                balance_after: p.balance_after.minor(),
                account_version: p.account_version,
            })
            .collect(),
        prev_hash: &t.prev_hash,
    };
    // Serialising plain strings and integers cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}
