//! Use cases of accounts: open, read balances and history, freeze, close.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::access::{self, can_read_account};
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::{Caller, READERS};
use super::idempotency::{Claim, run_once};
use super::names::valid_name;
use super::organisations::named;
use super::page::{Limit, Page};
use crate::domain::{
    AccountId, AccountKind, AccountStatus, Direction, LedgerId, Line, OrganisationId, Points, Role,
    TransferId, TransferKind,
};
use crate::error::{AppError, ErrorCode};
use crate::ledger::AccountState;
use crate::store::rows::AccountRow;
use crate::store::{DbConnection, accounts, journal, ledgers};

/// An account to open on a ledger.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "kind": "community_fund",
    "name": "Drum Tower community fund",
    "no_overdraft": true,
    "external_ref": "fund-001"
})))]
#[serde(deny_unknown_fields)]
pub struct OpenAccountRequest {
    /// The ledger the account belongs to.
    pub ledger_id: LedgerId,
    /// Whose account it is (default: the ledger's organisation). Decides who
    /// may see and move it; must lie inside the ledger's organisation.
    #[serde(default)]
    pub organisation_id: Option<OrganisationId>,
    /// The role the account plays in the scheme.
    pub kind: AccountKind,
    /// Display name, 1 to 200 characters.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Line,
    /// Refuse debits beyond credits. Default: true for every kind but issuance
    /// and settlement.
    #[serde(default)]
    pub no_overdraft: Option<bool>,
    /// The caller's own reference.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_ref: Option<Line>,
}

/// An account's balances as decimal strings in the ledger's scale (credits minus debits).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "posted": "12.50",
    "pending_debits": "0.00",
    "pending_credits": "0.00",
    "available": "12.50"
})))]
pub struct Balances {
    /// Credits minus debits, posted only.
    #[schema(example = "12.50")]
    pub posted: String,
    /// Debits on hold.
    pub pending_debits: String,
    /// Credits on hold.
    pub pending_credits: String,
    /// What may still be spent: posted less pending debits.
    pub available: String,
}

/// An account with its balances.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "kind": "volunteer",
    "name": "Li Wei",
    "no_overdraft": true,
    "status": "open",
    "balances": {
        "posted": "12.50",
        "pending_debits": "0.00",
        "pending_credits": "0.00",
        "available": "12.50"
    },
    "version": 3,
    "external_ref": null,
    "created_at": "2026-03-14T09:30:00Z"
})))]
pub struct AccountView {
    /// The account's id.
    pub id: AccountId,
    /// The ledger it belongs to.
    pub ledger_id: LedgerId,
    /// Whose account it is; decides who may see and move it.
    pub organisation_id: OrganisationId,
    /// The role it plays in the scheme.
    pub kind: AccountKind,
    /// Display name.
    pub name: String,
    /// Debits may not exceed credits.
    pub no_overdraft: bool,
    /// `open`, `frozen` or `closed`.
    pub status: AccountStatus,
    /// Posted, pending and available balances.
    pub balances: Balances,
    /// Number of postings on the account so far.
    pub version: i64,
    /// The caller's own reference.
    pub external_ref: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}

impl AccountView {
    fn new(row: &AccountRow, scale: u32) -> Result<Self, AppError> {
        let state = row.state();
        let show = |p: Points| p.to_decimal_string(scale);
        // The engine keeps balances inside i64; a row that is not was edited.
        let checked = |p: Option<Points>| {
            p.map(show).ok_or_else(|| {
                AppError::internal(format!("account {} totals out of range", state.id))
            })
        };
        Ok(Self {
            id: state.id,
            ledger_id: state.ledger_id,
            organisation_id: row.organisation_id,
            kind: state.kind,
            name: row.name.clone(),
            no_overdraft: state.no_overdraft,
            status: state.status,
            balances: Balances {
                posted: checked(state.posted_balance())?,
                pending_debits: show(state.debits_pending),
                pending_credits: show(state.credits_pending),
                available: checked(state.available())?,
            },
            version: state.version,
            external_ref: row.external_ref.clone(),
            created_at: row.created_at.into(),
        })
    }
}

/// An account's posted balance at a point in time.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
    "as_of": "2026-03-14T09:30:00Z",
    "posted": "12.50",
    "version": 3
})))]
pub struct BalanceView {
    /// The account.
    pub account_id: AccountId,
    /// The time the balance is for.
    pub as_of: DateTime<Utc>,
    /// Posted balance at `as_of`.
    pub posted: String,
    /// Postings on the account up to `as_of`.
    pub version: i64,
}

/// One posting on an account, as a statement line.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "transfer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d06",
    "sequence": 42,
    "kind": "hours_credit",
    "direction": "credit",
    "amount": "12.50",
    "pending": false,
    "balance_after": "12.50",
    "account_version": 1,
    "recorded_at": "2026-03-14T09:30:00Z",
    "event_time": "2026-03-14T09:30:00Z",
    "description": "Park clean-up, 2.5 hours"
})))]
pub struct AccountPostingView {
    /// The transfer the posting belongs to.
    pub transfer_id: TransferId,
    /// The transfer's position in the ledger's journal.
    pub sequence: i64,
    /// The transfer's business act.
    pub kind: TransferKind,
    /// `debit` or `credit`.
    pub direction: Direction,
    /// Decimal string in the ledger's scale.
    pub amount: String,
    /// Part of a hold (moves pending totals only).
    pub pending: bool,
    /// Posted balance after this posting.
    pub balance_after: String,
    /// The account's posting count after this one.
    pub account_version: i64,
    /// When the transfer was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When the service happened or the sale was made.
    pub event_time: DateTime<Utc>,
    /// The transfer's free text.
    pub description: Option<String>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    pub ledger_id: Option<LedgerId>,
    pub kind: Option<AccountKind>,
    pub status: Option<AccountStatus>,
    pub organisation_id: Option<OrganisationId>,
    pub limit: Option<u32>,
    pub cursor: Option<AccountId>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostingQuery {
    /// Only postings recorded at or before this time.
    pub until: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    /// The `account_version` to continue after.
    pub cursor: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BalanceQuery {
    /// Default: now.
    pub as_of: Option<DateTime<Utc>>,
}

/// An account status change.
#[derive(Clone, Copy, Debug, Serialize)]
pub enum StatusChange {
    Freeze,
    Unfreeze,
    Close,
}

fn load(conn: &mut DbConnection, id: &AccountId) -> Result<(AccountRow, u32), AppError> {
    let row = accounts::get(conn, id)?.ok_or_else(|| AppError::not_found("account"))?;
    let ledger =
        ledgers::get(conn, &row.ledger_id)?.ok_or_else(|| AppError::not_found("ledger"))?;
    Ok((row, ledger.head()?.asset_scale))
}

/// The account if the caller may read it; not found otherwise, whether or not
/// it exists.
fn load_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &AccountId,
) -> Result<(AccountRow, u32), AppError> {
    if !caller.everywhere(READERS) {
        let facts = access::facts(conn, &[*id])?;
        if !facts.get(id).is_some_and(|f| can_read_account(caller, f)) {
            return Err(AppError::not_found("account"));
        }
    }
    load(conn, id)
}

/// Opens an account in `ledger` (used by the API and by bootstrap).
pub fn open_account(
    conn: &mut DbConnection,
    request: &OpenAccountRequest,
) -> Result<AccountView, AppError> {
    let name = valid_name("name", &request.name)?;
    let ledger = ledgers::get(conn, &request.ledger_id)?
        .ok_or_else(|| AppError::invalid_field("ledger_id", "no such ledger"))?;
    if request.kind == AccountKind::Issuance && ledger.issuance_account_id.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "the ledger already has its issuance account",
        ));
    }
    let row = AccountRow {
        id: AccountId::generate(),
        ledger_id: ledger.id,
        organisation_id: request.organisation_id.unwrap_or(ledger.organisation_id),
        kind: request.kind,
        name: name.to_string(),
        no_overdraft: request
            .no_overdraft
            .unwrap_or_else(|| request.kind.default_no_overdraft()),
        status: AccountStatus::Open,
        debits_posted: 0,
        credits_posted: 0,
        debits_pending: 0,
        credits_pending: 0,
        version: 0,
        external_ref: request.external_ref.clone().map(String::from),
        created_at: crate::ledger::engine::journal_time(Utc::now()).into(),
    };
    accounts::insert(conn, &row)?;
    if request.kind == AccountKind::Issuance {
        ledgers::set_issuance_account(conn, &ledger.id, &row.id)?;
    }
    AccountView::new(&row, ledger.head()?.asset_scale)
}

impl App {
    pub async fn open_account(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: OpenAccountRequest,
    ) -> Result<Answer<AccountView>, AppError> {
        caller.require_admin()?;
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/accounts",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let ledger = ledgers::get(conn, &request.ledger_id)?
                .ok_or_else(|| AppError::invalid_field("ledger_id", "no such ledger"))?;
            let ledger_org = ledger.organisation_id;
            let org_id = request.organisation_id.unwrap_or(ledger_org);
            let org = named(conn, &caller, &[Role::Admin], "organisation_id", &org_id)?;
            let ledger_node = super::organisations::find(conn, &ledger_org)?
                .ok_or_else(|| AppError::internal("ledger organisation missing"))?;
            if !ledger_node.path().contains(org.path()) {
                return Err(AppError::invalid_field(
                    "organisation_id",
                    "must lie inside the ledger's organisation",
                ));
            }
            // An account that may go below zero can create points: only the
            // ledger's own administrators may open one.
            let may_overdraw = !request
                .no_overdraft
                .unwrap_or_else(|| request.kind.default_no_overdraft());
            if may_overdraw && !caller.covers(&[Role::Admin], ledger_node.path()) {
                return Err(AppError::forbidden(
                    "only administrators of the ledger's organisation open accounts that may overdraw",
                ));
            }
            let view = open_account(conn, &request)?;
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: "account.opened",
                    entity_type: "account",
                    entity_id: view.id.to_string(),
                    organisation_id: Some(view.organisation_id),
                    before: None,
                    after: Some(snapshot(&view)?),
                },
            )?;
            Ok(view)
        })
        .await
    }

    pub async fn get_account(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<AccountView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                let (row, scale) = load_visible(conn, &caller, &id)?;
                AccountView::new(&row, scale)
            })
            .await
    }

    pub async fn list_accounts(
        &self,
        caller: &Caller,
        query: AccountQuery,
    ) -> Result<Page<AccountView>, AppError> {
        let limit = Limit::parse(query.limit)?;
        let filter = accounts::AccountFilter {
            ledger_id: query.ledger_id,
            kind: query.kind,
            status: query.status,
            organisation_id: query.organisation_id,
            visible: (!caller.everywhere(READERS)).then(|| crate::store::journal::Visibility {
                subtrees: caller.subtrees(READERS),
                wallet: caller.wallet,
            }),
        };
        let views = self
            .store
            .run(move |conn| {
                let rows = accounts::page(conn, &filter, query.cursor, limit.probe())?;
                let mut scales = std::collections::HashMap::new();
                rows.iter()
                    .map(|row| {
                        let scale = match scales.get(&row.ledger_id) {
                            Some(s) => *s,
                            None => {
                                let s = ledgers::get(conn, &row.ledger_id)?
                                    .ok_or_else(|| AppError::not_found("ledger"))?
                                    .head()?
                                    .asset_scale;
                                scales.insert(row.ledger_id, s);
                                s
                            }
                        };
                        AccountView::new(row, scale)
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .await?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    pub async fn balance_as_of(
        &self,
        caller: &Caller,
        id: AccountId,
        query: BalanceQuery,
    ) -> Result<BalanceView, AppError> {
        let as_of = query.as_of.unwrap_or_else(Utc::now);
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                let (_, scale) = load_visible(conn, &caller, &id)?;
                let (posted, version) = journal::balance_as_of(conn, &id, as_of)?;
                Ok(BalanceView {
                    account_id: id,
                    as_of,
                    posted: posted.to_decimal_string(scale),
                    version,
                })
            })
            .await
    }

    pub async fn account_postings(
        &self,
        caller: &Caller,
        id: AccountId,
        query: PostingQuery,
    ) -> Result<Page<AccountPostingView>, AppError> {
        let limit = Limit::parse(query.limit)?;
        let caller = caller.clone();
        let views = self
            .store
            .run(move |conn| {
                let (_, scale) = load_visible(conn, &caller, &id)?;
                let rows = journal::account_postings(
                    conn,
                    &id,
                    query.cursor.unwrap_or(0),
                    query.until,
                    limit.probe(),
                )?;
                Ok(rows
                    .into_iter()
                    .map(|(p, t)| AccountPostingView {
                        transfer_id: p.transfer_id,
                        sequence: t.sequence,
                        kind: t.kind,
                        direction: p.direction,
                        amount: p.amount.to_decimal_string(scale),
                        pending: p.pending,
                        balance_after: p.balance_after.to_decimal_string(scale),
                        account_version: p.account_version,
                        recorded_at: p.recorded_at,
                        event_time: t.event_time.into(),
                        description: t.description,
                    })
                    .collect())
            })
            .await?;
        Ok(limit.finish(views, |v| v.account_version.to_string()))
    }

    /// Freezing holds an account still; closing ends it and needs it empty. Both
    /// take the ledger's write lock so no transfer slips between check and change.
    pub async fn change_account_status(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: AccountId,
        change: StatusChange,
    ) -> Result<Answer<AccountView>, AppError> {
        caller.require_admin()?;
        let operation = format!("POST /v1/accounts/{id}/{change:?}");
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    &operation,
                    &(),
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let (row, scale) = load_visible(conn, &caller, &id)?;
            let org_path = access::facts(conn, &[id])?
                .remove(&id)
                .map(|f| f.path)
                .ok_or_else(|| AppError::not_found("account"))?;
            if !caller.covers(&[Role::Admin], &org_path) {
                return Err(AppError::forbidden(
                    "changing an account needs admin rights over its organisation",
                ));
            }
            let before = AccountView::new(&row, scale)?;
            ledgers::lock(conn, &row.ledger_id)?;
            let (row, _) = load(conn, &id)?;
            let state: AccountState = row.state();
            let target = match (change, state.status) {
                (_, AccountStatus::Closed) => {
                    return Err(AppError::new(
                        ErrorCode::AccountClosed,
                        "the account is closed",
                    ));
                }
                (StatusChange::Freeze, _) => AccountStatus::Frozen,
                (StatusChange::Unfreeze, _) => AccountStatus::Open,
                (StatusChange::Close, _) => {
                    let empty = state.posted_balance() == Some(Points::ZERO)
                        && state.debits_pending == Points::ZERO
                        && state.credits_pending == Points::ZERO;
                    if !empty {
                        return Err(AppError::new(
                            ErrorCode::AccountNotEmpty,
                            "move the balance away and settle every hold before closing",
                        ));
                    }
                    if state.kind == AccountKind::Issuance {
                        return Err(AppError::forbidden("the issuance account cannot be closed"));
                    }
                    AccountStatus::Closed
                }
            };
            accounts::set_status(conn, &id, target)?;
            let (row, _) = load(conn, &id)?;
            let after = AccountView::new(&row, scale)?;
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: match change {
                        StatusChange::Freeze => "account.frozen",
                        StatusChange::Unfreeze => "account.unfrozen",
                        StatusChange::Close => "account.closed",
                    },
                    entity_type: "account",
                    entity_id: id.to_string(),
                    organisation_id: Some(after.organisation_id),
                    before: Some(snapshot(&before)?),
                    after: Some(snapshot(&after)?),
                },
            )?;
            Ok(after)
        })
        .await
    }
}
