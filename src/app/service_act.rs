//! Service as an act: the record, the rules it is priced by, the caps it
//! must keep and its credit, checked against the batch's state and committed
//! together. Two records of one volunteer in one batch see each other
//! through the batch's memo; across batches and processes the ledger's lock
//! (every record credits a wallet of that ledger) orders them.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::act::{Act, ActContext, Memo, Needs};
use super::activities::ActivityView;
use super::answer::Answer;
use super::earning_rules::{RuleBook, terms_of};
use super::idempotency::{self, Claim};
use super::service_records::{ServiceReceipt, ServiceRecordView};
use super::service_tallies::{self, Counted};
use crate::domain::service::{day_bounds, hours_text};
use crate::domain::{
    AccountId, Category, Direction, EarningTerms, LedgerId, OrganisationId, PricingError,
    ServiceRecordId, ServiceSpan, ServiceStatus, TransferKind, UserId, VolunteerId,
    VolunteerStatus,
};
use crate::error::{AppError, ErrorCode};
use crate::ledger::command::Provenance;
use crate::ledger::{Command, LegRequest, NewTransfer};
use crate::store::DbConnection;
use crate::store::columns::UtcTime;
use crate::store::rows::IdempotencyRow;
use crate::store::service_records::{self, ServiceRecordRow};

/// One service record to credit, checked against scope and references by
/// `service_records::prepare`.
#[derive(Clone, Debug)]
pub struct ServiceAct {
    pub id: ServiceRecordId,
    pub client_id: Option<String>,
    pub volunteer_id: VolunteerId,
    pub wallet: AccountId,
    pub issuance: AccountId,
    pub ledger_id: LedgerId,
    pub activity: ActivityView,
    pub category: Category,
    pub organisation_id: OrganisationId,
    pub span: ServiceSpan,
    pub note: Option<String>,
    pub recorded_by: UserId,
    pub zone: FixedOffset,
    /// Why the record must wait for a second person's approval (the
    /// scheme's thresholds); `None`: it is credited at once.
    pub awaits_approval: Option<String>,
    /// The check-in whose confirmed attendance this record pays: credited
    /// only if that attendance is confirmed.
    pub attendance: Option<crate::domain::CheckInId>,
}

/// The credit that pays one service record: from the ledger's issuance
/// account to the volunteer's wallet, naming the record, the rule and its
/// version. Made when the record is credited at once, or when it is approved.
pub(super) struct ServiceCredit<'a> {
    pub record: ServiceRecordId,
    pub ledger_id: LedgerId,
    pub issuance: AccountId,
    pub wallet: AccountId,
    pub activity: &'a ActivityView,
    pub minutes: i64,
    pub amount: crate::domain::Amount,
    pub multiplier_percent: u32,
    pub rule: Option<(crate::domain::EarningRuleId, i32)>,
    pub event_time: DateTime<Utc>,
    /// Who records the credit: the recorder, or the approver.
    pub actor: UserId,
    /// The coordinator who recorded the service, when someone else approved it.
    pub recorded_by: Option<UserId>,
}

impl ServiceCredit<'_> {
    pub fn command(&self) -> Command {
        let mut metadata = serde_json::json!({
            "service_record_id": self.record,
            "activity_id": self.activity.id,
            "minutes": self.minutes,
            "multiplier_percent": self.multiplier_percent,
            "earning_rule_id": self.rule.map(|r| r.0),
            "earning_rule_version": self.rule.map(|r| r.1),
        });
        if let Some(recorder) = self.recorded_by {
            metadata["recorded_by"] = serde_json::json!(recorder);
            metadata["approved_by"] = serde_json::json!(self.actor);
        }
        Command::Create(NewTransfer {
            ledger_id: Some(self.ledger_id),
            kind: TransferKind::HoursCredit,
            legs: vec![
                LegRequest {
                    account_id: self.issuance,
                    direction: Direction::Debit,
                    amount: self.amount,
                },
                LegRequest {
                    account_id: self.wallet,
                    direction: Direction::Credit,
                    amount: self.amount,
                },
            ],
            pending: false,
            timeout_at: None,
            provenance: Provenance {
                actor_id: self.actor.to_string(),
                on_behalf_of: None,
                description: Some(format!(
                    "{}: {} h",
                    self.activity.name,
                    hours_text(self.minutes)
                )),
                external_ref: Some(format!("service-record:{}", self.record)),
                metadata: Some(metadata.to_string()),
                event_time: Some(self.event_time),
            },
        })
    }
}

/// What recording service answers: the receipt, and whether this request
/// made the record or found it made before under its client id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceRecorded {
    pub receipt: ServiceReceipt,
    pub first_time: bool,
}

/// The rules the batch has read, by ledger and category.
#[derive(Default)]
struct RuleBooks(HashMap<(LedgerId, Category), RuleBook>);

/// What the batch's service acts said they will read (`Act::announce`).
#[derive(Default)]
struct Announced {
    windows: Vec<(VolunteerId, UtcTime, UtcTime)>,
    client_ids: Vec<String>,
}

/// What the first service act of a batch read for all of them, under the
/// batch's ledger locks: the volunteers' statuses, their standing records
/// around the announced spans, and the records of the announced client ids.
/// A read cache: filling it changes nothing an act could be refused for.
#[derive(Default)]
struct Prefetched {
    loaded: bool,
    statuses: HashMap<VolunteerId, VolunteerStatus>,
    records: HashMap<VolunteerId, Vec<ServiceRecordRow>>,
    by_client_id: HashMap<String, ServiceRecordRow>,
}

/// The batch's accepted records, written together after its journal rows
/// by the one write the first of them queued.
#[derive(Default)]
struct RecordsToWrite {
    rows: std::sync::Arc<std::sync::Mutex<Vec<ServiceRecordRow>>>,
    queued: bool,
}

/// The batch's records not yet in the database.
#[derive(Default)]
struct BatchService {
    spans: HashMap<VolunteerId, Vec<(ServiceSpan, i64)>>,
    by_client_id: HashMap<String, ServiceReceipt>,
}

impl ServiceAct {
    /// Where this record's overlaps and day's tally may lie: its scheme day
    /// and its span, and a day before either (a record lasts at most a day).
    fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let (day_start, day_end) = day_bounds(self.span.day(self.zone), self.zone);
        let from = day_start.min(self.span.start()) - chrono::Duration::days(1);
        (from, day_end.max(self.span.end()))
    }

    /// Reads, once per batch, what every announced service act needs.
    fn prefetch(cx: &mut ActContext<'_>) -> Result<(), AppError> {
        if cx.memo::<Prefetched>().loaded {
            return Ok(());
        }
        let Announced {
            windows,
            client_ids,
        } = std::mem::take(cx.memo::<Announced>());
        let mut volunteers: Vec<VolunteerId> = windows.iter().map(|w| w.0).collect();
        volunteers.sort_unstable();
        volunteers.dedup();
        let statuses = crate::store::volunteers::many(cx.conn(), &volunteers)?
            .into_iter()
            .map(|v| (v.id, v.status))
            .collect();
        let mut records: HashMap<VolunteerId, Vec<ServiceRecordRow>> = HashMap::new();
        for row in service_records::standing_in_windows(cx.conn(), &windows)? {
            records.entry(row.volunteer_id).or_default().push(row);
        }
        let by_client_id = service_records::by_client_ids(cx.conn(), &client_ids)?
            .into_iter()
            .filter_map(|row| Some((row.client_id.clone()?, row)))
            .collect();
        *cx.memo::<Prefetched>() = Prefetched {
            loaded: true,
            statuses,
            records,
            by_client_id,
        };
        Ok(())
    }

    /// The record a client id names, when it names the same service.
    fn same_as(&self, row: &ServiceRecordView) -> bool {
        row.volunteer_id == self.volunteer_id
            && row.activity_id == self.activity.id
            && row.organisation_id == self.organisation_id
            && row.started_at == self.span.start()
            && row.ended_at == self.span.end()
            && row.note == self.note
    }

    /// The answer for a client id already received.
    fn earlier(&self, cx: &mut ActContext<'_>) -> Result<Option<ServiceReceipt>, AppError> {
        let Some(client_id) = &self.client_id else {
            return Ok(None);
        };
        let found = match cx.memo::<BatchService>().by_client_id.get(client_id) {
            Some(receipt) => Some(receipt.clone()),
            None => match cx.memo::<Prefetched>().by_client_id.get(client_id).cloned() {
                Some(row) => {
                    let scale = cx.scale(&row.ledger_id);
                    let record = ServiceRecordView::new(&row, scale);
                    let balance = balance_of(cx, &self.wallet, scale);
                    Some(ServiceReceipt { record, balance })
                }
                None => None,
            },
        };
        match found {
            Some(receipt) if self.same_as(&receipt.record) => Ok(Some(receipt)),
            Some(_) => Err(AppError::new(
                ErrorCode::ClientIdReused,
                format!("client_id {client_id} was first sent with another service record"),
            )),
            None => Ok(None),
        }
    }

    /// The terms that price the service, and the rule version they come
    /// from. The batch reads a category's rules once (a read cache: it may be
    /// filled by an act that is then refused).
    fn terms(
        &self,
        cx: &mut ActContext<'_>,
    ) -> Result<(EarningTerms, Option<(crate::domain::EarningRuleId, i32)>), AppError> {
        let scale = cx.scale(&self.ledger_id);
        let key = (self.ledger_id, self.category.clone());
        if !cx.memo::<RuleBooks>().0.contains_key(&key) {
            let book = RuleBook::read(cx.conn(), &self.ledger_id, &self.category)?;
            cx.memo::<RuleBooks>().0.insert(key.clone(), book);
        }
        let rule = cx
            .memo::<RuleBooks>()
            .0
            .get(&key)
            .and_then(|book| book.in_force(self.span.start()));
        Ok(match rule {
            Some(row) => (terms_of(row), Some((row.id, row.version))),
            None => (EarningTerms::defaults(scale), None),
        })
    }

    /// Minutes already credited to the volunteer on the service's day, after
    /// refusing any record this one overlaps.
    fn minutes_that_day(&self, cx: &mut ActContext<'_>) -> Result<i64, AppError> {
        let (day_start, day_end) = day_bounds(self.span.day(self.zone), self.zone);
        let (from, until) = self.window();
        let prefetched = cx.memo::<Prefetched>();
        let stored = prefetched
            .records
            .get(&self.volunteer_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut known: Vec<(ServiceSpan, i64, Option<ServiceRecordId>)> = stored
            .iter()
            .filter(|r| from <= r.started_at.0 && r.started_at.0 < until)
            .filter_map(|r| {
                let span = ServiceSpan::new(r.started_at.into(), r.ended_at.into()).ok()?;
                Some((span, i64::from(r.minutes), Some(r.id)))
            })
            .collect();
        if let Some(batch) = cx.memo::<BatchService>().spans.get(&self.volunteer_id) {
            known.extend(batch.iter().map(|(s, m)| (*s, *m, None)));
        }
        if let Some((other, _, id)) = known.iter().find(|(s, _, _)| s.overlaps(&self.span)) {
            let which =
                id.map_or_else(|| "another record".to_string(), |id| format!("record {id}"));
            return Err(AppError::new(
                ErrorCode::OverlappingService,
                format!(
                    "the volunteer already has service from {} to {} ({which})",
                    other.start().to_rfc3339(),
                    other.end().to_rfc3339()
                ),
            ));
        }
        Ok(known
            .iter()
            .filter(|(s, _, _)| day_start <= s.start() && s.start() < day_end)
            .map(|(_, m, _)| m)
            .sum())
    }

    fn active_volunteer(&self, cx: &mut ActContext<'_>) -> Result<(), AppError> {
        let status = cx
            .memo::<Prefetched>()
            .statuses
            .get(&self.volunteer_id)
            .copied()
            .ok_or_else(|| AppError::internal("volunteer vanished"))?;
        if status != VolunteerStatus::Active {
            return Err(AppError::new(
                ErrorCode::VolunteerInactive,
                format!("the volunteer is {status}; no service is credited to them"),
            ));
        }
        Ok(())
    }
}

pub(super) fn balance_of(cx: &ActContext<'_>, wallet: &AccountId, scale: u32) -> String {
    cx.account(wallet)
        .and_then(|a| a.credits_posted.checked_sub(a.debits_posted))
        .unwrap_or_default()
        .to_decimal_string(scale)
}

fn pricing_refusal(error: PricingError) -> AppError {
    let code = match error {
        PricingError::ShorterThanUnit { .. } | PricingError::Nothing => ErrorCode::ServiceTooShort,
        PricingError::RecordCap { .. } | PricingError::DayCap { .. } => {
            ErrorCode::ServiceCapExceeded
        }
        PricingError::TooMany => ErrorCode::BalanceOutOfRange,
    };
    AppError::new(code, error.to_string())
}

impl Act for ServiceAct {
    type Outcome = ServiceRecorded;

    fn needs(&self) -> Needs {
        Needs {
            accounts: vec![self.issuance, self.wallet],
            ledgers: vec![self.ledger_id],
            transfers: Vec::new(),
        }
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<ServiceRecorded, AppError> {
        Self::prefetch(cx)?;
        if let Some(receipt) = self.earlier(cx)? {
            return Ok(ServiceRecorded {
                receipt,
                first_time: false,
            });
        }
        if let Some(check_in) = &self.attendance {
            super::check_in_act::require_confirmed(cx, check_in, &self.volunteer_id)?;
        }
        self.active_volunteer(cx)?;
        let (terms, rule) = self.terms(cx)?;
        let already = self.minutes_that_day(cx)?;
        let priced = terms.price(&self.span, already).map_err(pricing_refusal)?;
        let scale = cx.scale(&self.ledger_id);
        let amount = priced
            .points
            .to_amount(scale)
            .ok_or_else(|| pricing_refusal(PricingError::Nothing))?;
        // A record over the thresholds is kept priced, holding its time,
        // and paid only when a second person approves it.
        let transfer_id = match self.awaits_approval {
            Some(_) => None,
            None => {
                let credit = ServiceCredit {
                    record: self.id,
                    ledger_id: self.ledger_id,
                    issuance: self.issuance,
                    wallet: self.wallet,
                    activity: &self.activity,
                    minutes: priced.minutes,
                    amount,
                    multiplier_percent: priced.multiplier_percent,
                    rule,
                    event_time: self.span.end(),
                    actor: self.recorded_by,
                    recorded_by: None,
                };
                Some(cx.apply(&credit.command())?.transfer.id)
            }
        };
        let status = match transfer_id {
            Some(_) => ServiceStatus::Credited,
            None => ServiceStatus::PendingApproval,
        };
        let row = ServiceRecordRow {
            id: self.id,
            client_id: self.client_id.clone(),
            volunteer_id: self.volunteer_id,
            activity_id: self.activity.id,
            organisation_id: self.organisation_id,
            ledger_id: self.ledger_id,
            started_at: UtcTime(self.span.start()),
            ended_at: UtcTime(self.span.end()),
            minutes: i32::try_from(priced.minutes).map_err(AppError::internal)?,
            points: priced.points.minor(),
            rule_id: rule.map(|r| r.0),
            status,
            transfer_id,
            recorded_by: self.recorded_by,
            note: self.note.clone(),
            created_at: UtcTime(cx.now()),
            approval_reason: self.awaits_approval.clone(),
            decided_by: None,
            decided_at: None,
            decision_note: None,
        };
        let receipt = ServiceReceipt {
            record: ServiceRecordView::new(&row, scale),
            balance: balance_of(cx, &self.wallet, scale),
        };
        // Nothing below can refuse the act: the memo may remember it now.
        if row.status == ServiceStatus::Credited {
            service_tallies::count(cx, self.zone, Counted::from(&row), 1);
        }
        let batch = cx.memo::<BatchService>();
        batch
            .spans
            .entry(self.volunteer_id)
            .or_default()
            .push((self.span, priced.minutes));
        if let Some(client_id) = &self.client_id {
            batch
                .by_client_id
                .insert(client_id.clone(), receipt.clone());
        }
        let to_write = cx.memo::<RecordsToWrite>();
        to_write
            .rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(row);
        if !std::mem::replace(&mut to_write.queued, true) {
            let rows = std::sync::Arc::clone(&to_write.rows);
            cx.write(Box::new(move |conn| {
                let rows = std::mem::take(
                    &mut *rows
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                service_records::insert_many(conn, &rows)
            }));
        }
        Ok(ServiceRecorded {
            receipt,
            first_time: true,
        })
    }

    fn announce(&self, memo: &mut Memo) {
        let (from, until) = self.window();
        let announced = memo.get::<Announced>();
        announced
            .windows
            .push((self.volunteer_id, UtcTime(from), UtcTime(until)));
        announced.client_ids.extend(self.client_id.clone());
    }

    fn record(
        claim: &Claim,
        outcome: &ServiceRecorded,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError> {
        idempotency::record(claim, &Ok::<_, AppError>(outcome), now)
    }

    fn replay(
        _conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<ServiceRecorded>, AppError> {
        idempotency::replay(row, claim)
    }
}
