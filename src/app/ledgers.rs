//! Use cases of ledgers: create one (with its issuance account), read them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::accounts::{OpenAccountRequest, open_account};
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::Caller;
use super::idempotency::{Claim, run_once};
use super::names::valid_name;
use super::organisations::named;
use super::page::{Limit, Page};
use crate::domain::amount::MAX_SCALE;
use crate::domain::{AccountId, AccountKind, LedgerId, Line, OrganisationId};
use crate::domain::{OrgPath, Role};
use crate::error::{AppError, ErrorCode};
use crate::ledger::LedgerHead;
use crate::store::rows::LedgerRow;
use crate::store::{DbConnection, ledgers, organisations};

/// A points scheme to create; its issuance account is opened with it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "code": "points",
    "name": "City volunteer points",
    "asset_scale": 2,
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01"
})))]
#[serde(deny_unknown_fields)]
pub struct CreateLedgerRequest {
    /// Short unique code, e.g. `points`.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
    pub code: String,
    /// Display name, 1 to 200 characters.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Line,
    /// Decimal places of amounts (0 to 8, default 2).
    #[serde(default)]
    pub asset_scale: Option<u32>,
    /// Owning organisation; default: the root of the tree.
    #[serde(default)]
    pub organisation_id: Option<OrganisationId>,
}

/// A points scheme and the head of its journal.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "code": "points",
    "name": "City volunteer points",
    "asset_scale": 2,
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "issuance_account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d03",
    "last_sequence": 42,
    "last_hash": "9f2c4e1a00000000000000000000000000000000000000000000000000000000",
    "created_at": "2026-03-14T09:30:00Z"
})))]
pub struct LedgerView {
    /// The ledger's id.
    pub id: LedgerId,
    /// Short unique code, e.g. `points`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Decimal places of its amounts.
    pub asset_scale: u32,
    /// The owning organisation.
    pub organisation_id: OrganisationId,
    /// Where points come from; its balance is minus the points in circulation.
    pub issuance_account_id: Option<AccountId>,
    /// Transfers recorded so far.
    pub last_sequence: i64,
    /// Hash of the latest transfer (the head of the chain).
    pub last_hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl LedgerView {
    pub fn new(row: &LedgerRow) -> Result<Self, AppError> {
        let head = row.head()?;
        Ok(Self {
            id: head.id,
            code: row.code.clone(),
            name: row.name.clone(),
            asset_scale: head.asset_scale,
            organisation_id: row.organisation_id,
            issuance_account_id: row.issuance_account_id,
            last_sequence: head.last_sequence,
            last_hash: head.last_hash,
            created_at: row.created_at.into(),
        })
    }
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    pub limit: Option<u32>,
    pub cursor: Option<LedgerId>,
}

fn valid_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Creates a ledger and its issuance account (API and bootstrap).
pub fn create_ledger(
    conn: &mut DbConnection,
    request: &CreateLedgerRequest,
) -> Result<LedgerView, AppError> {
    if !valid_code(&request.code) {
        return Err(AppError::invalid_field(
            "code",
            "1 to 32 of a-z, 0-9, '_' and '-'",
        ));
    }
    let name = valid_name("name", &request.name)?;
    let scale = request.asset_scale.unwrap_or(2);
    if scale > MAX_SCALE {
        return Err(AppError::invalid_field(
            "asset_scale",
            format!("0 to {MAX_SCALE}"),
        ));
    }
    let organisation = match request.organisation_id {
        Some(id) => organisations::get(conn, &id)?
            .ok_or_else(|| AppError::invalid_field("organisation_id", "no such organisation"))?,
        None => organisations::first_root(conn)?.ok_or_else(|| {
            AppError::invalid_field(
                "organisation_id",
                "no organisation exists yet; run bootstrap",
            )
        })?,
    };
    if ledgers::find_by_code(conn, &request.code)?.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("a ledger with code {:?} exists", request.code),
        ));
    }
    let id = LedgerId::generate();
    ledgers::insert(
        conn,
        &LedgerRow {
            id,
            code: request.code.clone(),
            name: name.to_string(),
            asset_scale: scale as i32,
            organisation_id: organisation.id,
            issuance_account_id: None,
            last_sequence: 0,
            last_hash: LedgerHead::GENESIS_HASH.to_string(),
            last_recorded_at: None,
            created_at: crate::ledger::engine::journal_time(Utc::now()).into(),
        },
    )?;
    open_account(
        conn,
        &OpenAccountRequest {
            ledger_id: id,
            organisation_id: None,
            kind: AccountKind::Issuance,
            name: super::names::line("name", format!("{name} issuance"))?,
            no_overdraft: None,
            external_ref: None,
        },
    )?;
    let row = ledgers::get(conn, &id)?.ok_or_else(|| AppError::not_found("ledger"))?;
    LedgerView::new(&row)
}

impl App {
    pub async fn create_ledger(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateLedgerRequest,
    ) -> Result<Answer<LedgerView>, AppError> {
        caller.require_admin()?;
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/ledgers",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let org = match request.organisation_id {
                Some(id) => Some(named(
                    conn,
                    &caller,
                    &[Role::Admin],
                    "organisation_id",
                    &id,
                )?),
                None => None,
            };
            if org.is_none() && !caller.everywhere(&[Role::Admin]) {
                return Err(AppError::invalid_field(
                    "organisation_id",
                    "name the organisation the ledger belongs to",
                ));
            }
            let view = create_ledger(conn, &request)?;
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: "ledger.created",
                    entity_type: "ledger",
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

    pub async fn get_ledger(&self, caller: &Caller, id: LedgerId) -> Result<LedgerView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| Ok(visible_ledger(conn, &caller, &id)?.0))
            .await
    }

    pub async fn list_ledgers(
        &self,
        caller: &Caller,
        query: LedgerQuery,
    ) -> Result<Page<LedgerView>, AppError> {
        let limit = Limit::parse(query.limit)?;
        let related = (!caller.everywhere(Role::ALL)).then(|| ledgers::Related {
            above: caller.grants.iter().flat_map(|g| g.path.ids()).collect(),
            subtrees: caller.subtrees(Role::ALL),
        });
        let views = self
            .store
            .run(move |conn| {
                ledgers::page(conn, related.as_ref(), query.cursor, limit.probe())?
                    .iter()
                    .map(LedgerView::new)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }
}

/// The ledger if it is related to one of the caller's roles (it belongs to an
/// organisation above or inside one of them), with its organisation's path.
pub fn visible_ledger(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &LedgerId,
) -> Result<(LedgerView, OrgPath), AppError> {
    let hidden = || AppError::not_found("ledger");
    let row = ledgers::get(conn, id)?.ok_or_else(hidden)?;
    let view = LedgerView::new(&row)?;
    let node = super::organisations::find(conn, &view.organisation_id)?.ok_or_else(hidden)?;
    let related = caller
        .grants
        .iter()
        .any(|g| g.path.contains(node.path()) || node.path().contains(&g.path));
    if !related {
        return Err(hidden());
    }
    Ok((view, node.row.path))
}

/// Ledgers' asset scales for a page of rows, each ledger read once.
#[derive(Default)]
pub(super) struct Scales(std::collections::HashMap<LedgerId, u32>);

impl Scales {
    pub fn of(&mut self, conn: &mut DbConnection, ledger: &LedgerId) -> Result<u32, AppError> {
        if let Some(scale) = self.0.get(ledger) {
            return Ok(*scale);
        }
        let scale = ledgers::get(conn, ledger)?.map_or(0, |l| l.asset_scale as u32);
        self.0.insert(*ledger, scale);
        Ok(scale)
    }
}
