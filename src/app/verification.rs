//! Verifying a ledger: re-hash the chain and re-sum every account from the
//! journal, and say exactly what is wrong if anything is.

use serde::Serialize;
use utoipa::ToSchema;

use super::App;
use super::caller::Caller;
use crate::domain::LedgerId;
use crate::domain::Role;
use crate::error::AppError;
use crate::ledger::audit::{Auditor, Finding};
use crate::store::{DbConnection, accounts, journal, ledgers};

const PAGE: i64 = 2_000;

/// The result of re-hashing a ledger's chain and re-summing its accounts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "ok": true,
    "transfers_checked": 42,
    "accounts_checked": 7,
    "last_sequence": 42,
    "head_hash": "9f2c4e1a00000000000000000000000000000000000000000000000000000000",
    "problems": []
})))]
pub struct VerifyReport {
    /// The ledger checked.
    pub ledger_id: LedgerId,
    /// True when nothing is wrong.
    pub ok: bool,
    /// Transfers re-hashed.
    pub transfers_checked: u64,
    /// Accounts whose totals were re-summed.
    pub accounts_checked: u64,
    /// Sequence of the last transfer checked.
    pub last_sequence: i64,
    /// Hash of the last transfer checked.
    pub head_hash: String,
    /// Everything found wrong; empty when `ok`.
    pub problems: Vec<Finding>,
}

/// Reads in pages inside one read transaction, so the report describes one
/// consistent snapshot even while transfers keep arriving.
pub fn verify_ledger(conn: &mut DbConnection, id: &LedgerId) -> Result<VerifyReport, AppError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        if let DbConnection::Postgresql(pg) = conn {
            use diesel::connection::SimpleConnection;
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let row = ledgers::get(conn, id)?.ok_or_else(|| AppError::not_found("ledger"))?;
        let head = row.head()?;
        let mut auditor = Auditor::new();
        let mut after = 0;
        loop {
            let page = journal::ledger_range(conn, id, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.transfer.sequence;
            for entry in &page {
                auditor.check(entry);
            }
        }
        let transfers_checked = auditor.transfers_checked;
        let all = accounts::all_states_of_ledger(conn, id)?;
        let problems = auditor.finish(&head, &all);
        Ok(VerifyReport {
            ledger_id: *id,
            ok: problems.is_empty(),
            transfers_checked,
            accounts_checked: all.len() as u64,
            last_sequence: head.last_sequence,
            head_hash: head.last_hash,
            problems,
        })
    })
}

impl App {
    pub async fn verify_ledger(
        &self,
        caller: &Caller,
        id: LedgerId,
    ) -> Result<VerifyReport, AppError> {
        let roles = [Role::Admin, Role::Auditor];
        caller.require_any(&roles)?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                let (_, path) = super::ledgers::visible_ledger(conn, &caller, &id)?;
                if !caller.covers(&roles, &path) {
                    return Err(AppError::forbidden(
                        "verifying needs the admin or auditor role over the ledger's organisation",
                    ));
                }
                verify_ledger(conn, &id)
            })
            .await
    }
}
