//! One error envelope for the whole service: a stable machine-readable code, the
//! HTTP status it maps to, and a human detail. The http layer renders it as RFC 9457
//! problem+json; an idempotency record keeps a refusal as its problem, from which
//! the same refusal is read back for a retry.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ledger::LedgerError;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:literal, $title:literal)),+ $(,)?) => {
        /// Stable codes a client may branch on. Never renamed once published.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            /// The code named by its stable string, as a kept problem holds it.
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)+ _ => None }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),+ }
            }

            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title),+ }
            }
        }
    };
}

error_codes! {
    ValidationFailed => ("validation_failed", 400, "The request is not valid"),
    InvalidAmount => ("invalid_amount", 400, "The amount is not valid"),
    UnbalancedTransfer => ("unbalanced_transfer", 422, "Debits do not equal credits"),
    LedgerMismatch => ("ledger_mismatch", 422, "Postings span more than one ledger"),
    AccountNotFound => ("account_not_found", 422, "An account named in the request does not exist"),
    AccountFrozen => ("account_frozen", 422, "The account is frozen"),
    AccountClosed => ("account_closed", 422, "The account is closed"),
    AccountNotEmpty => ("account_not_empty", 409, "The account still holds a balance or holds"),
    InsufficientFunds => ("insufficient_funds", 422, "The account cannot cover the debit"),
    SameAccount => ("same_account", 422, "A transfer cannot debit and credit the same account"),
    BalanceOutOfRange => ("balance_out_of_range", 422, "The account's totals would leave the range the ledger can hold"),
    TransferNotPending => ("transfer_not_pending", 409, "The transfer is not a pending hold"),
    PendingTransferExpired => ("pending_transfer_expired", 409, "The hold has expired"),
    TransferNotReversible => ("transfer_not_reversible", 409, "The transfer cannot be reversed"),
    TransferAlreadyReversed => ("transfer_already_reversed", 409, "The transfer was already reversed"),
    IdempotencyKeyMissing => ("idempotency_key_missing", 400, "An Idempotency-Key header is required"),
    IdempotencyKeyReused => ("idempotency_key_reused", 422, "The Idempotency-Key was used with another request"),
    IdempotencyKeyInFlight => ("idempotency_key_in_flight", 409, "A request with this Idempotency-Key is still running"),
    Unauthorized => ("unauthorized", 401, "Authentication is required"),
    TokenExpired => ("token_expired", 401, "The access token has expired; refresh it"),
    InvalidToken => ("invalid_token", 401, "The access token is not valid; log in again"),
    Forbidden => ("forbidden", 403, "Not allowed"),
    NotFound => ("not_found", 404, "Not found"),
    Conflict => ("conflict", 409, "Conflicts with an existing resource"),
    MethodNotAllowed => ("method_not_allowed", 405, "Method not allowed"),
    TooManyLoginAttempts => ("too_many_login_attempts", 429, "Too many failed logins; wait before trying again"),
    PayloadTooLarge => ("payload_too_large", 413, "The request body is too large"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "The request body must be application/json"),
    OverlappingService => ("overlapping_service", 409, "The volunteer already has service recorded at that time"),
    ServiceCapExceeded => ("service_cap_exceeded", 422, "The service is over the earning rule's cap"),
    ServiceTooShort => ("service_too_short", 422, "The service is shorter than the earning rule's unit"),
    VolunteerInactive => ("volunteer_inactive", 422, "The volunteer is not active"),
    ClientIdReused => ("client_id_reused", 422, "The client id was used for another service record"),
    OwnRecord => ("own_record", 403, "A second person must approve service; not the one who recorded it"),
    NotPendingApproval => ("not_pending_approval", 409, "The service record is not waiting for approval"),
    ServiceNotCredited => ("service_not_credited", 409, "The service record was never credited"),
    CheckInClosed => ("check_in_closed", 409, "The check-in's attendance list was confirmed already"),
    CheckInCodeExpired => ("check_in_code_expired", 422, "The check-in code has expired; ask the coordinator for a new one"),
    AlreadyCheckedIn => ("already_checked_in", 409, "You have already checked in to this event"),
    NotCheckedIn => ("not_checked_in", 409, "You have not checked in to this event, or have checked out already"),
    AttendanceNotConfirmed => ("attendance_not_confirmed", 409, "The volunteer's attendance was not confirmed"),
    NotRecordable => ("not_recordable", 422, "The database refused to record the request"),
    ServiceUnavailable => ("service_unavailable", 503, "The service is temporarily unavailable"),
    Internal => ("internal_error", 500, "Internal error"),
}

/// One field-level complaint inside a `validation_failed` problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "field": "postings[0].amount",
    "message": "more decimal places than the ledger's scale (2)"
})))]
pub struct FieldError {
    /// Where in the request: a field path such as `postings[0].amount`, or `body`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct AppError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// A `validation_failed` naming one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        Self {
            errors: vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }],
            ..Self::new(ErrorCode::ValidationFailed, format!("{field}: {message}"))
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    /// Infrastructure failure: logged here with its cause, shown to the client only
    /// as a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; see the service log")
    }

    /// A refusal read back from the problem it was kept as.
    pub fn from_problem(problem: Problem) -> Option<Self> {
        Some(Self {
            code: ErrorCode::parse(&problem.code)?,
            detail: problem.detail,
            errors: problem.errors,
            retry_after: None,
        })
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("/problems/{}", self.code.as_str()),
            title: self.code.title().to_string(),
            status: self.code.status(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_string(),
            errors: self.errors.clone(),
        }
    }
}

/// RFC 9457 problem details, with the stable `code` extension.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "type": "/problems/validation_failed",
    "title": "The request is not valid",
    "status": 400,
    "detail": "postings[0].amount: more decimal places than the ledger's scale (2)",
    "code": "validation_failed",
    "errors": [
        {
            "field": "postings[0].amount",
            "message": "more decimal places than the ledger's scale (2)"
        }
    ]
})))]
pub struct Problem {
    /// A URI reference naming the kind of problem: `/problems/{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
    /// Stable machine-readable code, e.g. `insufficient_funds`.
    pub code: String,
    /// For `validation_failed` and `invalid_amount`: each field refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::not_found("resource"),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                tracing::warn!("database connection closed");
                AppError::new(ErrorCode::ServiceUnavailable, "database connection lost")
            }
            Error::DatabaseError(kind, info) => {
                crate::store::constraints::refusal(&kind, info.as_ref())
                    .unwrap_or_else(|| AppError::internal(Error::DatabaseError(kind, info)))
            }
            // A column that does not parse: diesel names the field, its source
            // says what the value was (store::columns).
            Error::DeserializationError(e) => {
                let mut cause = e.to_string();
                let mut source = std::error::Error::source(&*e);
                while let Some(s) = source {
                    cause = format!("{cause}: {s}");
                    source = s.source();
                }
                AppError::internal(cause)
            }
            other => AppError::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool exhausted");
        AppError::new(
            ErrorCode::ServiceUnavailable,
            "database busy; retry shortly",
        )
    }
}

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> Self {
        let code = match &e {
            LedgerError::TooFewPostings => {
                return AppError::invalid_field("postings", e.to_string());
            }
            LedgerError::InvalidAmount { leg, .. } => {
                let mut err = AppError::new(ErrorCode::InvalidAmount, e.to_string());
                err.errors.push(FieldError {
                    field: format!("postings[{leg}].amount"),
                    message: e.to_string(),
                });
                return err;
            }
            LedgerError::LedgerNotFound(_) => {
                return AppError::invalid_field("ledger_id", e.to_string());
            }
            LedgerError::Unbalanced { .. } => ErrorCode::UnbalancedTransfer,
            LedgerError::LedgerMismatch => ErrorCode::LedgerMismatch,
            LedgerError::AccountNotFound(_) => ErrorCode::AccountNotFound,
            LedgerError::AccountFrozen(_) => ErrorCode::AccountFrozen,
            LedgerError::AccountClosed(_) => ErrorCode::AccountClosed,
            LedgerError::InsufficientFunds { .. } => ErrorCode::InsufficientFunds,
            LedgerError::Overflow(_) => ErrorCode::BalanceOutOfRange,
            LedgerError::SameAccount(_) => ErrorCode::SameAccount,
            LedgerError::SequenceExhausted(_) => return AppError::internal(e),
            LedgerError::TransferNotFound(_) => ErrorCode::NotFound,
            LedgerError::NotPending(_) => ErrorCode::TransferNotPending,
            LedgerError::PendingExpired(_) => ErrorCode::PendingTransferExpired,
            LedgerError::NotReversible(_) => ErrorCode::TransferNotReversible,
            LedgerError::AlreadyReversed(_) => ErrorCode::TransferAlreadyReversed,
        };
        AppError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} repeats");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!((400..600).contains(&code.status()));
        }
    }
}
