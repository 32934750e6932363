//! Exactly-once for every state-changing POST. A claim is (caller scope, key,
//! request fingerprint). The first answer, success or refusal, is stored in the
//! same transaction as the change, so a retry replays it; another body under the
//! same key is refused; a key still running in this process is refused as in
//! flight, and across processes the database's primary key makes the later
//! request wait for the first and then replay it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::answer::Answer;

use super::record_keys::RecordKeys;
use crate::domain::TransferId;
use crate::error::{AppError, ErrorCode, Problem};
use crate::ledger::TransferRecord;
use crate::store::rows::{IdempotencyRow, RecordOutcome};
use crate::store::{DbConnection, Store, idempotency, write_transaction};

/// How long a key is remembered (at least 24 h, as promised to clients).
pub const RETENTION_HOURS: i64 = 48;
pub const MAX_KEY_LEN: usize = 255;

#[derive(Clone, Debug)]
pub struct Claim {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    keys: Arc<RecordKeys>,
}

impl Claim {
    /// `operation` names what is being done (e.g. "POST /v1/transfers") so the
    /// same key on two endpoints never matches.
    pub fn new(
        keys: &Arc<RecordKeys>,
        scope: String,
        key: &str,
        operation: &str,
        body: &impl Serialize,
    ) -> Result<Self, AppError> {
        let valid = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(AppError::invalid_field(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            ));
        }
        let body = serde_json::to_vec(body).map_err(AppError::internal)?;
        Ok(Self {
            fingerprint: keys.fingerprint(&[operation.as_bytes(), &body])?,
            scope,
            key: key.to_string(),
            keys: Arc::clone(keys),
        })
    }

    fn pair(&self) -> (String, String) {
        (self.scope.clone(), self.key.clone())
    }
}

/// Refuses a different request under a key already answered.
fn check_same_request(row: &IdempotencyRow, claim: &Claim) -> Result<(), AppError> {
    if row.fingerprint == claim.fingerprint {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::IdempotencyKeyReused,
        format!(
            "Idempotency-Key {:?} was first used with a different request",
            claim.key
        ),
    ))
}

/// The kept refusal, if the key's first answer was one.
fn kept_refusal(row: &IdempotencyRow, body: &str) -> Result<Option<AppError>, AppError> {
    if row.outcome != RecordOutcome::Refused {
        return Ok(None);
    }
    let problem: Problem = serde_json::from_str(body)
        .map_err(|e| AppError::internal(format!("corrupt kept refusal: {e}")))?;
    let code = problem.code.clone();
    AppError::from_problem(problem)
        .map(Some)
        .ok_or_else(|| AppError::internal(format!("kept refusal has unknown code {code:?}")))
}

/// The first answer again, read back from its record.
pub fn replay<O: DeserializeOwned>(
    row: &IdempotencyRow,
    claim: &Claim,
) -> Result<Answer<O>, AppError> {
    check_same_request(row, claim)?;
    let body = claim
        .keys
        .open(&claim.scope, &claim.key, &row.response_body)?;
    let outcome = match kept_refusal(row, &body)? {
        Some(refusal) => Err(refusal),
        None => Ok(serde_json::from_str(&body)
            .map_err(|e| AppError::internal(format!("corrupt kept outcome: {e}")))?),
    };
    Ok(Answer {
        outcome,
        replayed: true,
    })
}

/// The first answer of a created transfer: its refusal again, or the transfer
/// to render from the journal (its record keeps no body).
pub fn replay_created_transfer(
    row: &IdempotencyRow,
    claim: &Claim,
) -> Result<Result<TransferId, AppError>, AppError> {
    check_same_request(row, claim)?;
    if row.outcome == RecordOutcome::Refused {
        let body = claim
            .keys
            .open(&claim.scope, &claim.key, &row.response_body)?;
        return kept_refusal(row, &body)?
            .map(Err)
            .ok_or_else(|| AppError::internal("kept refusal vanished"));
    }
    row.transfer_id
        .map(Ok)
        .ok_or_else(|| AppError::internal("a transfer's record names no transfer"))
}

/// The record of an answer, its body sealed: the outcome as JSON, or the
/// refusal as its problem.
pub fn record<O: Serialize>(
    claim: &Claim,
    outcome: &Result<O, AppError>,
    now: DateTime<Utc>,
) -> Result<IdempotencyRow, AppError> {
    match outcome {
        Ok(done) => sealed(claim, RecordOutcome::Done, serde_json::to_string(done), now),
        Err(refusal) => record_refusal(claim, refusal, now),
    }
}

/// The record of a refusal, kept as its problem.
pub fn record_refusal(
    claim: &Claim,
    refusal: &AppError,
    now: DateTime<Utc>,
) -> Result<IdempotencyRow, AppError> {
    sealed(
        claim,
        RecordOutcome::Refused,
        serde_json::to_string(&refusal.problem()),
        now,
    )
}

fn sealed(
    claim: &Claim,
    outcome: RecordOutcome,
    body: serde_json::Result<String>,
    now: DateTime<Utc>,
) -> Result<IdempotencyRow, AppError> {
    let body = body.map_err(AppError::internal)?;
    let sealed = claim.keys.seal(&claim.scope, &claim.key, &body)?;
    Ok(row(claim, outcome, sealed, None, now))
}

/// The record of a created transfer. No body is kept: the journal holds every
/// row of it, and replay renders it again.
pub fn record_created(
    claim: &Claim,
    transfer: &TransferRecord,
    now: DateTime<Utc>,
) -> IdempotencyRow {
    row(
        claim,
        RecordOutcome::Done,
        String::new(),
        Some(transfer.id),
        now,
    )
}

fn row(
    claim: &Claim,
    outcome: RecordOutcome,
    body: String,
    transfer: Option<TransferId>,
    now: DateTime<Utc>,
) -> IdempotencyRow {
    IdempotencyRow {
        scope: claim.scope.clone(),
        key: claim.key.clone(),
        fingerprint: claim.fingerprint.clone(),
        outcome,
        response_body: body,
        transfer_id: transfer,
        created_at: now.into(),
        expires_at: (now + Duration::hours(RETENTION_HOURS)).into(),
    }
}

/// Keys whose first request is still running in this process.
#[derive(Default)]
pub struct InFlight {
    keys: Mutex<HashSet<(String, String)>>,
}

/// Holds a key as in flight until dropped.
pub struct InFlightGuard {
    owner: Arc<InFlight>,
    pair: (String, String),
}

impl InFlight {
    pub fn enter(self: &Arc<Self>, claim: &Claim) -> Result<InFlightGuard, AppError> {
        let pair = claim.pair();
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| AppError::internal("in-flight set poisoned"))?;
        if !keys.insert(pair.clone()) {
            return Err(AppError::new(
                ErrorCode::IdempotencyKeyInFlight,
                format!(
                    "a request with Idempotency-Key {:?} is still running; retry when it has answered",
                    claim.key
                ),
            ));
        }
        Ok(InFlightGuard {
            owner: Arc::clone(self),
            pair,
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.owner.keys.lock() {
            keys.remove(&self.pair);
        }
    }
}

/// Runs a state change that is not a transfer (ledgers, accounts) exactly once:
/// the change and its record commit together; a refusal is kept too, with the
/// change's own writes rolled back to a savepoint.
pub async fn run_once<O, F>(
    store: &Store,
    in_flight: &Arc<InFlight>,
    claim: Option<Claim>,
    change: F,
) -> Result<Answer<O>, AppError>
where
    O: Serialize + DeserializeOwned + Send + 'static,
    F: Fn(&mut DbConnection) -> Result<O, AppError> + Send + Sync + 'static,
{
    let _guard = claim.as_ref().map(|c| in_flight.enter(c)).transpose()?;
    store
        .run(move |conn| {
            // A second attempt follows only a key inserted meanwhile by another
            // process; it then finds that key and replays it.
            let mut attempts = 0;
            loop {
                attempts += 1;
                match run_once_in(conn, claim.as_ref(), &change) {
                    Err(e) if e.code == ErrorCode::Conflict && claim.is_some() && attempts < 2 => {}
                    other => return other,
                }
            }
        })
        .await
}

fn run_once_in<O, F>(
    conn: &mut DbConnection,
    claim: Option<&Claim>,
    change: &F,
) -> Result<Answer<O>, AppError>
where
    O: Serialize + DeserializeOwned,
    F: Fn(&mut DbConnection) -> Result<O, AppError>,
{
    write_transaction(conn, |conn| {
        let Some(claim) = claim else {
            return change(conn).map(|done| Answer::fresh(Ok(done)));
        };
        if let Some(row) = idempotency::find_many(conn, &[claim.pair()])?.get(&claim.pair()) {
            return replay(row, claim);
        }
        let outcome = {
            use diesel::Connection;
            conn.transaction(|c| change(c))
        };
        let outcome = match outcome {
            Err(e) if e.code.status() >= 500 => return Err(e),
            kept => kept,
        };
        idempotency::insert_many(conn, &[record(claim, &outcome, Utc::now())?])?;
        Ok(Answer::fresh(outcome))
    })
}
