//! First start: the first administrator, a root organisation and the default
//! ledger with its issuance account.

use chrono::Utc;
use serde::Serialize;

use super::audit::{self, Change};
use super::ledgers::{CreateLedgerRequest, create_ledger};
use super::organisations::{Node, create_root};
use super::passwords;
use super::users::{insert_grant, insert_user};
use crate::domain::{AccountId, LedgerId, OrganisationId, Role, UserId};
use crate::error::AppError;
use crate::store::organisations;
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
    let username = super::users::valid_username("username", username)?;
    let password_hash = passwords::hash(password)?;
    write_transaction(conn, |conn| {
        let now = Utc::now();
        let organisation = match organisations::first_root(conn)? {
            Some(root) => root,
            None => {
                let root = create_root(conn, "City", now)?;
                audit::record(
                    conn,
                    Change {
                        actor: None,
                        action: "organisation.created",
                        entity_type: "organisation",
                        entity_id: root.id.to_string(),
                        organisation_id: Some(root.id),
                        before: None,
                        after: Some(serde_json::json!({ "name": root.name, "kind": root.kind })),
                    },
                )?;
                root
            }
        };
        let root = Node::new(organisation);
        let ledger = match ledgers::find_by_code(conn, DEFAULT_LEDGER_CODE)? {
            Some(row) => super::ledgers::LedgerView::new(&row)?,
            None => {
                let ledger = create_ledger(
                    conn,
                    &CreateLedgerRequest {
                        code: DEFAULT_LEDGER_CODE.into(),
                        name: super::names::line("name", "Volunteer points")?,
                        asset_scale: Some(2),
                        organisation_id: None,
                    },
                )?;
                audit::record(
                    conn,
                    Change {
                        actor: None,
                        action: "ledger.created",
                        entity_type: "ledger",
                        entity_id: ledger.id.to_string(),
                        organisation_id: Some(ledger.organisation_id),
                        before: None,
                        after: Some(audit::snapshot(&ledger)?),
                    },
                )?;
                ledger
            }
        };
        let user = insert_user(conn, &username, password_hash, username.as_str(), None)?;
        let user_id = user.id;
        insert_grant(conn, &user_id, Role::Admin, &root)?;
        audit::record(
            conn,
            Change {
                actor: None,
                action: "user.created",
                entity_type: "user",
                entity_id: user.id.to_string(),
                organisation_id: Some(root.id()),
                before: None,
                after: Some(serde_json::json!({
                    "username": user.username,
                    "roles": [{ "role": "admin", "organisation_id": root.id() }],
                    "via": "bootstrap",
                })),
            },
        )?;
        Ok(Bootstrapped {
            user_id,
            username: username.to_string(),
            organisation_id: root.id(),
            ledger_id: ledger.id,
            ledger_code: ledger.code,
            issuance_account_id: ledger.issuance_account_id,
        })
    })
}
