//! First start: the first administrator, a root organisation and the default
//! ledger with its issuance account.

use chrono::Utc;
use serde::Serialize;

use super::ledgers::{CreateLedgerRequest, create_ledger};
use super::passwords;
use crate::domain::{AccountId, LedgerId, OrganisationId, Role, UserId};
use crate::error::{AppError, ErrorCode};
use crate::store::organisations::{self, OrganisationRow};
use crate::store::rows::to_db_time;
use crate::store::users::{self, RoleGrantRow, UserRow};
use crate::store::{DbConnection, ledgers, write_transaction};

pub const DEFAULT_LEDGER_CODE: &str = "points";

#[derive(Debug, Serialize)]
pub struct Bootstrapped {
    pub user_id: UserId,
    pub username: String,
    pub organisation_id: OrganisationId,
    pub ledger_id: LedgerId,
    pub ledger_code: String,
    pub issuance_account_id: Option<AccountId>,
}

/// Creates what is missing: the root organisation and default ledger once, and
/// the named administrator (refused if the username is taken).
pub fn bootstrap(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
) -> Result<Bootstrapped, AppError> {
    let username = username.trim();
    if username.is_empty() || username.len() > 64 {
        return Err(AppError::invalid_field("username", "1 to 64 characters"));
    }
    let password_hash = passwords::hash(password)?;
    write_transaction(conn, |conn| {
        if users::find_by_username(conn, username)?.is_some() {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("user {username:?} already exists"),
            ));
        }
        let now = to_db_time(Utc::now());
        let organisation = match organisations::first_root(conn)? {
            Some(root) => root,
            None => {
                let root = OrganisationRow {
                    id: OrganisationId::generate().to_string(),
                    parent_id: None,
                    name: "City".into(),
                    kind: "city".into(),
                    created_at: now,
                };
                organisations::insert(conn, &root)?;
                root
            }
        };
        let ledger = match ledgers::find_by_code(conn, DEFAULT_LEDGER_CODE)? {
            Some(row) => super::ledgers::LedgerView::new(&row)?,
            None => create_ledger(
                conn,
                &CreateLedgerRequest {
                    code: DEFAULT_LEDGER_CODE.into(),
                    name: "Volunteer points".into(),
                    asset_scale: Some(2),
                    organisation_id: None,
                },
            )?,
        };
        let user_id = UserId::generate();
        users::insert(
            conn,
            &UserRow {
                id: user_id.to_string(),
                username: username.to_string(),
                password_hash,
                display_name: username.to_string(),
                status: "active".into(),
                created_at: now,
            },
        )?;
        users::grant(
            conn,
            &RoleGrantRow {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: user_id.to_string(),
                role: Role::Admin.as_str().into(),
                organisation_id: organisation.id.clone(),
                created_at: now,
            },
        )?;
        Ok(Bootstrapped {
            user_id,
            username: username.to_string(),
            organisation_id: crate::store::rows::parse_column(
                &organisation.id,
                "organisations.id",
            )?,
            ledger_id: ledger.id,
            ledger_code: ledger.code,
            issuance_account_id: ledger.issuance_account_id,
        })
    })
}
