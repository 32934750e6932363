//! Confirming a check-in's attendance list, as an act: the check-in closes
//! and the attendances it names are marked confirmed, in the batch that then
//! credits their service records. A service record made from an attendance
//! is credited only once that attendance is confirmed (`require_confirmed`),
//! so two coordinators confirming different lists at once pay one list, not
//! both; across processes the ledger's lock orders them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::act::{Act, ActContext, Needs};
use super::answer::Answer;
use super::idempotency::{self, Claim};
use crate::domain::{CheckInId, CheckInStatus, LedgerId, UserId, VolunteerId};
use crate::error::{AppError, ErrorCode};
use crate::store::DbConnection;
use crate::store::check_ins;
use crate::store::columns::UtcTime;
use crate::store::rows::IdempotencyRow;

/// Closes a check-in with the attendances its coordinator confirmed.
#[derive(Clone, Debug)]
pub struct ConfirmCheckInAct {
    pub check_in: CheckInId,
    /// Sorted, without repeats.
    pub volunteers: Vec<VolunteerId>,
    pub confirmed_by: UserId,
    /// The ledgers its records credit: their locks order confirmations.
    pub ledgers: Vec<LedgerId>,
}

/// Whether this confirmation closed the check-in or found it closed with the
/// same list before (a confirmation sent again).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckInConfirmed {
    pub first_time: bool,
}

/// Which attendances are confirmed, as the batch sees them: read from the
/// database once per check-in, with the confirmations of earlier acts of the
/// batch added.
#[derive(Default)]
struct Confirmations(HashMap<CheckInId, HashSet<VolunteerId>>);

fn confirmed<'a>(
    cx: &'a mut ActContext<'_>,
    check_in: &CheckInId,
) -> Result<Option<&'a HashSet<VolunteerId>>, AppError> {
    if !cx.memo::<Confirmations>().0.contains_key(check_in) {
        let closed = check_ins::get(cx.conn(), check_in)?
            .is_some_and(|row| row.status == CheckInStatus::Confirmed);
        if closed {
            let stored = check_ins::confirmed_volunteers(cx.conn(), check_in)?;
            cx.memo::<Confirmations>()
                .0
                .insert(*check_in, stored.into_iter().collect());
        }
    }
    Ok(cx.memo::<Confirmations>().0.get(check_in))
}

/// Refuses a service record made from an attendance nobody confirmed.
pub(super) fn require_confirmed(
    cx: &mut ActContext<'_>,
    check_in: &CheckInId,
    volunteer: &VolunteerId,
) -> Result<(), AppError> {
    if confirmed(cx, check_in)?.is_some_and(|set| set.contains(volunteer)) {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::AttendanceNotConfirmed,
        format!("the check-in {check_in} was confirmed without this volunteer's attendance"),
    ))
}

impl Act for ConfirmCheckInAct {
    type Outcome = CheckInConfirmed;

    fn needs(&self) -> Needs {
        Needs {
            ledgers: self.ledgers.clone(),
            ..Needs::default()
        }
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<CheckInConfirmed, AppError> {
        if let Some(before) = confirmed(cx, &self.check_in)? {
            let same = before.len() == self.volunteers.len()
                && self.volunteers.iter().all(|v| before.contains(v));
            if same {
                return Ok(CheckInConfirmed { first_time: false });
            }
            return Err(closed_with_another_list(before.len()));
        }
        let now = UtcTime(cx.now());
        let (check_in, volunteers, by) =
            (self.check_in, self.volunteers.clone(), self.confirmed_by);
        cx.memo::<Confirmations>()
            .0
            .insert(check_in, volunteers.iter().copied().collect());
        cx.write(Box::new(move |conn| {
            check_ins::confirm(conn, &check_in, &by, now, &volunteers)
        }));
        Ok(CheckInConfirmed { first_time: true })
    }

    fn record(
        claim: &Claim,
        outcome: &CheckInConfirmed,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError> {
        idempotency::record(claim, &Ok::<_, AppError>(outcome), now)
    }

    fn replay(
        _conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<CheckInConfirmed>, AppError> {
        idempotency::replay(row, claim)
    }
}

pub(super) fn closed_with_another_list(confirmed: usize) -> AppError {
    AppError::new(
        ErrorCode::CheckInClosed,
        format!(
            "the attendance list was confirmed already, with {confirmed} volunteer(s); \
             record any other service with POST /v1/service-records"
        ),
    )
}
