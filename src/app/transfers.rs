//! Use cases of the journal: post a transfer, settle or reverse one, read them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::access::{self, AccountFacts, Leg, TRANSFER_MAKERS, authorise_transfer};
use super::answer::Answer;
use super::caller::{Caller, READERS};
use super::idempotency::Claim;
use super::page::{Limit, Page};
use super::transfer_act::TransferAct;
use super::transfer_view::TransferView;
use crate::domain::{
    AccountId, Amount, Direction, LedgerId, Line, Note, Role, TransferId, TransferKind,
};
use crate::error::AppError;
use crate::ledger::command::Provenance;
use crate::ledger::{Command, JournalEntry, LedgerError, LegRequest, NewTransfer, Resolution};
use crate::store::{DbConnection, journal, ledgers};

/// Longest a hold may wait before it is released by itself.
pub const MAX_HOLD_SECONDS: u64 = 30 * 24 * 3600;
const MAX_TEXT: usize = 1024;
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// One leg of a transfer: an amount debited from or credited to one account.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
    "direction": "credit",
    "amount": "12.50"
})))]
#[serde(deny_unknown_fields)]
pub struct PostingRequest {
    /// The account the leg lands on.
    pub account_id: AccountId,
    /// `debit` lowers the account's balance, `credit` raises it.
    pub direction: Direction,
    /// Positive decimal string in the ledger's scale.
    pub amount: Amount,
}

/// A journal entry to record. Give either `postings` (two or more legs, debits
/// equal to credits) or the two-leg shorthand `debit_account_id`,
/// `credit_account_id` and `amount`. No account may be both debited and
/// credited in one transfer (`same_account`, 422).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransferRequest {
    /// The business act the transfer records (not `reversal`: see `/reverse`).
    pub kind: TransferKind,
    /// When given, every posting must be on this ledger.
    #[serde(default)]
    pub ledger_id: Option<LedgerId>,
    /// The legs: two or more, debits equal to credits. Not with the shorthand.
    #[serde(default)]
    #[schema(min_items = 2)]
    pub postings: Option<Vec<PostingRequest>>,
    /// Shorthand: the account debited. Give with `credit_account_id` and `amount`, without `postings`.
    #[serde(default)]
    pub debit_account_id: Option<AccountId>,
    /// Shorthand: the account credited.
    #[serde(default)]
    pub credit_account_id: Option<AccountId>,
    /// Shorthand: the amount moved, a decimal string in the ledger's scale.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Hold the amounts (two-phase) until posted or voided.
    #[serde(default)]
    pub pending: bool,
    /// Seconds before an unsettled hold is released by itself (default 900).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The caller's own reference (receipt number, event id), at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_ref: Option<Line>,
    /// Free text shown on statements, at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Note>,
    /// Free JSON object kept with the transfer.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// When the service happened or the sale was made (default: now).
    #[serde(default)]
    pub event_time: Option<DateTime<Utc>>,
    /// The person the caller acts for.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub on_behalf_of: Option<Line>,
}

/// Optional note for a post, void or reversal.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "description": "Collected at the counter",
    "external_ref": "receipt-2026-0314-17"
})))]
#[serde(deny_unknown_fields)]
pub struct SettleRequest {
    /// Free text shown on statements, at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Note>,
    /// The caller's own reference, at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_ref: Option<Line>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    pub ledger_id: Option<LedgerId>,
    /// Only transfers with a posting on this account.
    pub account_id: Option<AccountId>,
    pub kind: Option<TransferKind>,
    #[param(value_type = Option<String>)]
    pub external_ref: Option<Line>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<TransferId>,
}

fn optional_text(field: &str, value: Option<&str>) -> Result<(), AppError> {
    match value {
        Some(v) if v.len() > MAX_TEXT => Err(AppError::invalid_field(
            field,
            format!("at most {MAX_TEXT} bytes"),
        )),
        _ => Ok(()),
    }
}

impl CreateTransferRequest {
    fn legs(&self) -> Result<Vec<LegRequest>, AppError> {
        let shorthand = (self.debit_account_id, self.credit_account_id, self.amount);
        match (&self.postings, shorthand) {
            (Some(postings), (None, None, None)) => Ok(postings
                .iter()
                .map(|p| LegRequest {
                    account_id: p.account_id,
                    direction: p.direction,
                    amount: p.amount,
                })
                .collect()),
            (None, (Some(debit), Some(credit), Some(amount))) => Ok(vec![
                LegRequest {
                    account_id: debit,
                    direction: Direction::Debit,
                    amount,
                },
                LegRequest {
                    account_id: credit,
                    direction: Direction::Credit,
                    amount,
                },
            ]),
            _ => Err(AppError::invalid_field(
                "postings",
                "give either postings, or debit_account_id, credit_account_id and amount",
            )),
        }
    }

    fn into_command(self, caller: &Caller, now: DateTime<Utc>) -> Result<Command, AppError> {
        if self.kind == TransferKind::Reversal {
            return Err(AppError::invalid_field(
                "kind",
                "reversals are made with POST /v1/transfers/{id}/reverse",
            ));
        }
        let legs = self.legs()?;
        if legs.len() > 64 {
            return Err(AppError::invalid_field("postings", "at most 64 postings"));
        }
        optional_text("external_ref", self.external_ref.as_deref())?;
        optional_text("description", self.description.as_deref())?;
        optional_text("on_behalf_of", self.on_behalf_of.as_deref())?;
        let metadata = match &self.metadata {
            None => None,
            Some(v @ serde_json::Value::Object(_)) => {
                let text = serde_json::to_string(v).map_err(AppError::internal)?;
                if text.len() > MAX_METADATA_BYTES {
                    return Err(AppError::invalid_field(
                        "metadata",
                        format!("at most {MAX_METADATA_BYTES} bytes"),
                    ));
                }
                Some(text)
            }
            Some(_) => return Err(AppError::invalid_field("metadata", "must be a JSON object")),
        };
        if !self.pending && self.timeout_seconds.is_some() {
            return Err(AppError::invalid_field(
                "timeout_seconds",
                "only a pending transfer has a timeout",
            ));
        }
        let timeout_at = if self.pending {
            let seconds = self.timeout_seconds.unwrap_or(900);
            if seconds == 0 || seconds > MAX_HOLD_SECONDS {
                return Err(AppError::invalid_field(
                    "timeout_seconds",
                    format!("between 1 and {MAX_HOLD_SECONDS}"),
                ));
            }
            Some(now + Duration::seconds(seconds as i64))
        } else {
            None
        };
        Ok(Command::Create(NewTransfer {
            ledger_id: self.ledger_id,
            kind: self.kind,
            legs,
            pending: self.pending,
            timeout_at,
            provenance: Provenance {
                actor_id: caller.user_id.to_string(),
                on_behalf_of: self.on_behalf_of.map(String::from),
                description: self.description.map(String::from),
                external_ref: self.external_ref.map(String::from),
                metadata,
                event_time: self.event_time,
            },
        }))
    }
}

/// What to do to an existing transfer.
#[derive(Clone, Copy, Debug)]
pub enum Settlement {
    Post,
    Void,
    Reverse,
}

impl App {
    pub async fn create_transfer(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateTransferRequest,
    ) -> Result<Answer<TransferView>, AppError> {
        caller.require_any(TRANSFER_MAKERS)?;
        let key = key.ok_or_else(|| {
            AppError::new(
                crate::error::ErrorCode::IdempotencyKeyMissing,
                "send an Idempotency-Key header (a fresh UUID per new transfer, the same one on retries)",
            )
        })?;
        let claim = Claim::new(
            &self.record_keys,
            caller.idempotency_scope(),
            key,
            "POST /v1/transfers",
            &request,
        )?;
        let _guard = self.in_flight.enter(&claim)?;
        // Malformed requests are refused before anything is stored; they would be
        // refused the same way on every retry.
        let command = request.into_command(caller, Utc::now())?;
        if let Command::Create(new) = &command
            && !caller.everywhere(&[Role::Admin])
        {
            let legs: Vec<(AccountId, Direction)> = new
                .legs
                .iter()
                .map(|l| (l.account_id, l.direction))
                .collect();
            self.authorise_legs(caller, new.kind, legs).await?;
        }
        let answer = self
            .writer
            .submit(TransferAct(command), Some(claim))
            .await?;
        Ok(answer.map(|recorded| recorded.view()))
    }

    /// Checks a transfer's legs against the caller's roles (an unknown account
    /// is refused here just as the engine would refuse it).
    async fn authorise_legs(
        &self,
        caller: &Caller,
        kind: TransferKind,
        legs: Vec<(AccountId, Direction)>,
    ) -> Result<(), AppError> {
        let ids: Vec<AccountId> = legs.iter().map(|(a, _)| *a).collect();
        let facts = self
            .store
            .run(move |conn| access::facts(conn, &ids))
            .await?;
        let legs = legs
            .iter()
            .map(|(id, direction)| {
                Ok(Leg {
                    direction: *direction,
                    account: facts.get(id).ok_or(LedgerError::AccountNotFound(*id))?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        authorise_transfer(caller, kind, &legs)
    }

    pub async fn settle_transfer(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: TransferId,
        action: Settlement,
        request: SettleRequest,
    ) -> Result<Answer<TransferView>, AppError> {
        match action {
            Settlement::Reverse => caller.require_admin()?,
            Settlement::Post | Settlement::Void => caller.require_any(TRANSFER_MAKERS)?,
        }
        if !caller.everywhere(&[Role::Admin]) {
            self.authorise_settlement(caller, id, action).await?;
        }
        optional_text("description", request.description.as_deref())?;
        optional_text("external_ref", request.external_ref.as_deref())?;
        let operation = match action {
            Settlement::Post => format!("POST /v1/transfers/{id}/post"),
            Settlement::Void => format!("POST /v1/transfers/{id}/void"),
            Settlement::Reverse => format!("POST /v1/transfers/{id}/reverse"),
        };
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    &operation,
                    &request,
                )
            })
            .transpose()?;
        let _guard = claim
            .as_ref()
            .map(|c| self.in_flight.enter(c))
            .transpose()?;
        let provenance = Provenance {
            actor_id: caller.user_id.to_string(),
            description: request.description.map(String::from),
            external_ref: request.external_ref.map(String::from),
            ..Provenance::default()
        };
        let command = match action {
            Settlement::Post | Settlement::Void => Command::Resolve {
                pending_id: id,
                resolution: if matches!(action, Settlement::Post) {
                    Resolution::Post
                } else {
                    Resolution::Void
                },
                provenance,
            },
            Settlement::Reverse => Command::Reverse {
                original_id: id,
                provenance,
            },
        };
        if matches!(action, Settlement::Reverse) {
            let paid = self
                .store
                .run(move |conn| crate::store::service_records::paid_by(conn, &id))
                .await?;
            if let Some(record) = paid {
                return Err(AppError::new(
                    crate::error::ErrorCode::TransferNotReversible,
                    format!(
                        "the transfer pays service record {record}: reverse the record \
                         (POST /v1/service-records/{record}/reverse) so its hours leave the tally too"
                    ),
                ));
            }
        }
        let answer = self.writer.submit(TransferAct(command), claim).await?;
        Ok(answer.map(|recorded| recorded.view()))
    }

    /// Settling needs the right to make the original transfer; reversing needs
    /// admin rights over every account it touched. A transfer the caller cannot
    /// see is not found.
    async fn authorise_settlement(
        &self,
        caller: &Caller,
        id: TransferId,
        action: Settlement,
    ) -> Result<(), AppError> {
        let reader = caller.clone();
        let (entry, facts) = self
            .store
            .run(move |conn| visible_entry(conn, &reader, &id))
            .await?;
        let legs = legs_of(&entry, &facts)?;
        let allowed = match action {
            Settlement::Reverse => {
                if legs
                    .iter()
                    .all(|l| caller.covers(&[Role::Admin], &l.account.path))
                {
                    Ok(())
                } else {
                    Err(AppError::forbidden(
                        "reversing needs admin rights over every account of the transfer",
                    ))
                }
            }
            Settlement::Post | Settlement::Void => {
                authorise_transfer(caller, entry.transfer.kind, &legs)
            }
        };
        allowed.map_err(|e| match e.code {
            crate::error::ErrorCode::AccountNotFound => AppError::not_found("transfer"),
            _ => e,
        })
    }

    pub async fn get_transfer(
        &self,
        caller: &Caller,
        id: TransferId,
    ) -> Result<TransferView, AppError> {
        caller.require_any(Role::ALL)?;
        let caller = caller.clone();
        let views = self
            .store
            .run(move |conn| {
                let entry = if caller.everywhere(READERS) {
                    journal::get(conn, &id)?.ok_or_else(|| AppError::not_found("transfer"))?
                } else {
                    visible_entry(conn, &caller, &id)?.0
                };
                views_of(conn, vec![entry])
            })
            .await?;
        views
            .into_iter()
            .next()
            .ok_or_else(|| AppError::not_found("transfer"))
    }

    pub async fn list_transfers(
        &self,
        caller: &Caller,
        query: TransferQuery,
    ) -> Result<Page<TransferView>, AppError> {
        caller.require_any(Role::ALL)?;
        let limit = Limit::parse(query.limit)?;
        let filter = journal::TransferFilter {
            ledger_id: query.ledger_id,
            account_id: query.account_id,
            kind: query.kind,
            external_ref: query.external_ref.map(String::from),
            visible: (!caller.everywhere(READERS)).then(|| journal::Visibility {
                subtrees: caller.subtrees(READERS),
                wallet: caller.wallet,
            }),
        };
        let views = self
            .store
            .run(move |conn| {
                let entries = journal::page(conn, &filter, query.cursor, limit.probe())?;
                views_of(conn, entries)
            })
            .await?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }
}

/// The transfer and the facts of its accounts, if the caller may read one of
/// them; not found otherwise.
fn visible_entry(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &TransferId,
) -> Result<
    (
        JournalEntry,
        std::collections::HashMap<AccountId, AccountFacts>,
    ),
    AppError,
> {
    let entry = journal::get(conn, id)?.ok_or_else(|| AppError::not_found("transfer"))?;
    let ids: Vec<AccountId> = entry.postings.iter().map(|p| p.account_id).collect();
    let facts = access::facts(conn, &ids)?;
    if !facts.values().any(|f| access::can_read_account(caller, f)) {
        return Err(AppError::not_found("transfer"));
    }
    Ok((entry, facts))
}

fn legs_of<'a>(
    entry: &JournalEntry,
    facts: &'a std::collections::HashMap<AccountId, AccountFacts>,
) -> Result<Vec<Leg<'a>>, AppError> {
    entry
        .postings
        .iter()
        .map(|p| {
            Ok(Leg {
                direction: p.direction,
                account: facts
                    .get(&p.account_id)
                    .ok_or_else(|| AppError::internal("posting on a missing account"))?,
            })
        })
        .collect()
}

/// Renders entries with their ledger's scale and what happened to them since.
fn views_of(
    conn: &mut crate::store::DbConnection,
    entries: Vec<crate::ledger::JournalEntry>,
) -> Result<Vec<TransferView>, AppError> {
    let ids: Vec<TransferId> = entries.iter().map(|e| e.transfer.id).collect();
    let after = journal::aftermath(conn, &ids)?;
    let mut ledger_ids: Vec<LedgerId> = entries.iter().map(|e| e.transfer.ledger_id).collect();
    ledger_ids.sort_unstable();
    ledger_ids.dedup();
    let scales: HashMap<LedgerId, u32> = ledgers::heads(conn, &ledger_ids)?
        .into_iter()
        .map(|(id, h)| (id, h.asset_scale))
        .collect();
    Ok(entries
        .iter()
        .map(|e| {
            let scale = scales.get(&e.transfer.ledger_id).copied().unwrap_or(0);
            TransferView::new(
                e,
                scale,
                after.get(&e.transfer.id).unwrap_or(&Default::default()),
            )
        })
        .collect())
}
