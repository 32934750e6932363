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

use super::record_keys::RecordKeys;
use crate::domain::TransferId;
use crate::error::{AppError, ErrorCode};
use crate::ledger::TransferRecord;
use crate::store::rows::{IdempotencyRow, parse_column, to_db_time};
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

/// An answer as it is sent, and as it is kept for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub replayed: bool,
}

impl StoredResponse {
    pub fn created(location: String, view: &impl Serialize) -> Result<Self, AppError> {
        Ok(Self {
            status: 201,
            body: serde_json::to_string(view).map_err(AppError::internal)?,
            location: Some(location),
            replayed: false,
        })
    }

    pub fn ok(view: &impl Serialize) -> Result<Self, AppError> {
        Ok(Self {
            status: 200,
            body: serde_json::to_string(view).map_err(AppError::internal)?,
            location: None,
            replayed: false,
        })
    }

    pub fn refusal(error: &AppError) -> Self {
        Self {
            status: error.code.status(),
            body: serde_json::to_string(&error.problem()).unwrap_or_default(),
            location: None,
            replayed: false,
        }
    }

    pub fn is_refusal(&self) -> bool {
        self.status >= 400
    }
}

/// The transfer whose first answer must be rendered from the journal, if the
/// record kept no body.
pub fn created_transfer(row: &IdempotencyRow) -> Result<Option<TransferId>, AppError> {
    match (&row.transfer_id, row.response_body.is_empty()) {
        (Some(id), true) => parse_column(id, "idempotency_keys.transfer_id").map(Some),
        _ => Ok(None),
    }
}

/// Replays the stored answer, or refuses a different request under the same key.
pub fn replay(row: &IdempotencyRow, claim: &Claim) -> Result<StoredResponse, AppError> {
    if row.fingerprint != claim.fingerprint {
        return Err(AppError::new(
            ErrorCode::IdempotencyKeyReused,
            format!(
                "Idempotency-Key {:?} was first used with a different request",
                claim.key
            ),
        ));
    }
    Ok(StoredResponse {
        status: u16::try_from(row.status_code).unwrap_or(500),
        body: claim
            .keys
            .open(&claim.scope, &claim.key, &row.response_body)?,
        location: row.location.clone(),
        replayed: true,
    })
}

/// The record of an answer, kept whole, its body sealed.
pub fn record(
    claim: &Claim,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> Result<IdempotencyRow, AppError> {
    let body = claim.keys.seal(&claim.scope, &claim.key, &response.body)?;
    Ok(row(
        claim,
        response.status,
        body,
        response.location.clone(),
        None,
        now,
    ))
}

/// The record of a 201 that created `transfer`. No body is kept: the journal
/// holds every row of it, and replay renders it again.
pub fn record_created(
    claim: &Claim,
    transfer: &TransferRecord,
    now: DateTime<Utc>,
) -> IdempotencyRow {
    let location = format!("/v1/transfers/{}", transfer.id);
    row(
        claim,
        201,
        String::new(),
        Some(location),
        Some(transfer.id),
        now,
    )
}

fn row(
    claim: &Claim,
    status: u16,
    body: String,
    location: Option<String>,
    transfer: Option<TransferId>,
    now: DateTime<Utc>,
) -> IdempotencyRow {
    IdempotencyRow {
        scope: claim.scope.clone(),
        key: claim.key.clone(),
        fingerprint: claim.fingerprint.clone(),
        status_code: i32::from(status),
        response_body: body,
        location,
        transfer_id: transfer.map(|id| id.to_string()),
        created_at: to_db_time(now),
        expires_at: to_db_time(now + Duration::hours(RETENTION_HOURS)),
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
/// the change and its stored answer commit together; a refusal is stored too,
/// with the change's own writes rolled back to a savepoint.
pub async fn run_once<F>(
    store: &Store,
    in_flight: &Arc<InFlight>,
    claim: Option<Claim>,
    change: F,
) -> Result<StoredResponse, AppError>
where
    F: Fn(&mut DbConnection) -> Result<StoredResponse, AppError> + Send + Sync + 'static,
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

fn run_once_in<F>(
    conn: &mut DbConnection,
    claim: Option<&Claim>,
    change: &F,
) -> Result<StoredResponse, AppError>
where
    F: Fn(&mut DbConnection) -> Result<StoredResponse, AppError>,
{
    write_transaction(conn, |conn| {
        let Some(claim) = claim else {
            return change(conn);
        };
        if let Some(row) = idempotency::find_many(conn, &[claim.pair()])?.get(&claim.pair()) {
            return replay(row, claim);
        }
        let outcome = {
            use diesel::Connection;
            conn.transaction(|c| change(c))
        };
        let response = match outcome {
            Ok(response) => response,
            Err(e) if e.code.status() < 500 => StoredResponse::refusal(&e),
            Err(e) => return Err(e),
        };
        idempotency::insert_many(conn, &[record(claim, &response, Utc::now())?])?;
        Ok(response)
    })
}
