//! What a client is told when the database refuses a write: every constraint
//! the schema declares has a stable code and a detail in words. The
//! database's own message (table, constraint and column names, values) goes to
//! the log only. Usually the app checks first and refuses with the same words;
//! these answer the races in which two requests pass that check together.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

use crate::error::{AppError, ErrorCode};

struct Constraint {
    /// PostgreSQL's name for it (the default `<table>_<columns>_key` or the
    /// index name).
    postgres: &'static str,
    /// SQLite's description of it: `<table>.<column>[, ...]`, or a check's expression.
    sqlite: &'static str,
    code: ErrorCode,
    detail: &'static str,
}

const fn c(
    postgres: &'static str,
    sqlite: &'static str,
    code: ErrorCode,
    detail: &'static str,
) -> Constraint {
    Constraint {
        postgres,
        sqlite,
        code,
        detail,
    }
}

#[rustfmt::skip]
const KNOWN: &[Constraint] = &[
    c("users_username_key", "users.username", ErrorCode::Conflict, "the username is taken"),
    c("users_external_subject_key", "users.external_subject", ErrorCode::Conflict, "another user is linked to this external subject"),
    c("role_grants_user_id_role_organisation_id_key", "role_grants.user_id, role_grants.role, role_grants.organisation_id", ErrorCode::Conflict, "the user already holds this role there"),
    c("organisations_path_key", "organisations.path", ErrorCode::Conflict, "another organisation was just created in the same place; retry"),
    c("ledgers_code_key", "ledgers.code", ErrorCode::Conflict, "a ledger with this code exists"),
    c("volunteers_card_number_key", "volunteers.card_number", ErrorCode::Conflict, "the card number is taken"),
    c("volunteers_user_id_key", "volunteers.user_id", ErrorCode::Conflict, "this login already belongs to a volunteer"),
    c("volunteers_account_id_key", "volunteers.account_id", ErrorCode::Conflict, "this wallet already belongs to a volunteer"),
    c("transfers_settles_once", "transfers.pending_id", ErrorCode::TransferNotPending, "the hold was settled by another request"),
    c("transfers_reversed_once", "transfers.reverses_id", ErrorCode::TransferAlreadyReversed, "the transfer was already reversed"),
    c("transfers_ledger_id_sequence_key", "transfers.ledger_id, transfers.sequence", ErrorCode::Conflict, "another transfer was recorded on the ledger at the same moment; retry"),
    // The no-overdraft rule, held by the database too (SQLite names a check by its expression).
    c("accounts_check", "NOT no_overdraft OR debits_posted + debits_pending <= credits_posted", ErrorCode::InsufficientFunds, "the account cannot cover the debit"),
    c("attendances_pkey", "attendances.check_in_id, attendances.volunteer_id", ErrorCode::AlreadyCheckedIn, "you have already checked in to this event"),
    c("check_ins_open_code", "check_ins.code", ErrorCode::Conflict, "another check-in was opened with the same code at the same moment; retry"),
    c("postings_account_id_account_version_key", "postings.account_id, postings.account_version", ErrorCode::Conflict, "another transfer moved the account at the same moment; retry"),
];

/// The refusal for a constraint violation, or `None` when `kind` is not one.
pub fn refusal(kind: &DatabaseErrorKind, info: &dyn DatabaseErrorInformation) -> Option<AppError> {
    let fallback = match kind {
        DatabaseErrorKind::UniqueViolation => "conflicts with an existing record",
        DatabaseErrorKind::ForeignKeyViolation => {
            "refers to something that does not exist, or is still referred to"
        }
        DatabaseErrorKind::CheckViolation => "breaks a rule the books keep; nothing was written",
        _ => return None,
    };
    tracing::warn!(
        constraint = info.constraint_name().unwrap_or_default(),
        error = info.message(),
        "database refused a write"
    );
    let known = KNOWN.iter().find(|k| {
        info.constraint_name() == Some(k.postgres)
            || info
                .message()
                .split_once("constraint failed: ")
                .is_some_and(|(_, what)| what == k.sqlite)
    });
    Some(match known {
        Some(k) => AppError::new(k.code, k.detail),
        None => AppError::new(ErrorCode::Conflict, fallback),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn both_backends_name_the_same_constraint_in_words() {
        let postgres = Info {
            message: "duplicate key value violates unique constraint \"users_username_key\"",
            constraint: Some("users_username_key"),
        };
        let sqlite = Info {
            message: "UNIQUE constraint failed: users.username",
            constraint: None,
        };
        for info in [&postgres, &sqlite] {
            let err = refusal(&DatabaseErrorKind::UniqueViolation, info).unwrap();
            assert_eq!(err.code, ErrorCode::Conflict);
            assert_eq!(err.detail, "the username is taken");
        }
        let unknown = Info {
            message: "duplicate key value violates unique constraint \"new_thing_key\"",
            constraint: Some("new_thing_key"),
        };
        let err = refusal(&DatabaseErrorKind::UniqueViolation, &unknown).unwrap();
        assert!(!err.detail.contains("duplicate key") && !err.detail.contains("new_thing"));
        assert!(refusal(&DatabaseErrorKind::SerializationFailure, &unknown).is_none());
    }

    #[test]
    fn every_code_is_a_refusal_not_a_failure() {
        for k in KNOWN {
            assert!((400..500).contains(&k.code.status()), "{}", k.postgres);
        }
    }
}
