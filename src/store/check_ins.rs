//! Check-ins for attendance at events, and who checked in and out of each.

use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::{attendances, check_ins};
use super::subtree::within;
use crate::domain::{
    ActivityId, CheckInCode, CheckInId, CheckInStatus, OrgPath, OrganisationId, UserId, VolunteerId,
};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = check_ins)]
pub struct CheckInRow {
    pub id: CheckInId,
    pub code: CheckInCode,
    pub activity_id: ActivityId,
    pub organisation_id: OrganisationId,
    pub note: Option<String>,
    pub opened_by: UserId,
    pub opened_at: UtcTime,
    pub code_expires_at: UtcTime,
    pub status: CheckInStatus,
    pub confirmed_by: Option<UserId>,
    pub confirmed_at: Option<UtcTime>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attendances)]
pub struct AttendanceRow {
    pub check_in_id: CheckInId,
    pub volunteer_id: VolunteerId,
    pub checked_in_at: UtcTime,
    pub checked_out_at: Option<UtcTime>,
    pub confirmed: bool,
}

pub fn insert(conn: &mut DbConnection, row: &CheckInRow) -> Result<(), AppError> {
    diesel::insert_into(check_ins::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &CheckInId) -> Result<Option<CheckInRow>, AppError> {
    Ok(check_ins::table
        .find(id)
        .select(CheckInRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The open check-in a code names.
pub fn open_by_code(
    conn: &mut DbConnection,
    code: &CheckInCode,
) -> Result<Option<CheckInRow>, AppError> {
    Ok(check_ins::table
        .filter(check_ins::code.eq(code))
        .filter(check_ins::status.eq(CheckInStatus::Open))
        .select(CheckInRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Holds the check-in's row lock for the rest of the transaction (a no-op
/// update), so a check-in or out and the confirmation cannot interleave on
/// PostgreSQL; SQLite's write transaction already holds the database.
pub fn lock(conn: &mut DbConnection, id: &CheckInId) -> Result<(), AppError> {
    diesel::update(check_ins::table.find(id))
        .set(check_ins::status.eq(check_ins::status))
        .execute(conn)?;
    Ok(())
}

/// A page of the check-ins opened inside the subtrees, oldest first.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    status: Option<CheckInStatus>,
    after: Option<CheckInId>,
    limit: i64,
) -> Result<Vec<CheckInRow>, AppError> {
    let mut query = check_ins::table
        .filter(check_ins::organisation_id.eq_any(within(subtrees)))
        .order(check_ins::id)
        .limit(limit)
        .select(CheckInRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(check_ins::id.gt(after));
    }
    if let Some(status) = status {
        query = query.filter(check_ins::status.eq(status));
    }
    Ok(query.load(conn)?)
}

/// Who checked in, in the order they arrived.
pub fn attendances_of(
    conn: &mut DbConnection,
    id: &CheckInId,
) -> Result<Vec<AttendanceRow>, AppError> {
    Ok(attendances::table
        .filter(attendances::check_in_id.eq(id))
        .order((attendances::checked_in_at, attendances::volunteer_id))
        .select(AttendanceRow::as_select())
        .load(conn)?)
}

pub fn attendance(
    conn: &mut DbConnection,
    id: &CheckInId,
    volunteer: &VolunteerId,
) -> Result<Option<AttendanceRow>, AppError> {
    Ok(attendances::table
        .find((id, volunteer))
        .select(AttendanceRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn insert_attendance(conn: &mut DbConnection, row: &AttendanceRow) -> Result<(), AppError> {
    diesel::insert_into(attendances::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn check_out(
    conn: &mut DbConnection,
    id: &CheckInId,
    volunteer: &VolunteerId,
    at: UtcTime,
) -> Result<(), AppError> {
    diesel::update(attendances::table.find((id, volunteer)))
        .set(attendances::checked_out_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// Closes the check-in and marks whose attendance was confirmed.
pub fn confirm(
    conn: &mut DbConnection,
    id: &CheckInId,
    by: &UserId,
    at: UtcTime,
    volunteers: &[VolunteerId],
) -> Result<(), AppError> {
    diesel::update(check_ins::table.find(id))
        .set((
            check_ins::status.eq(CheckInStatus::Confirmed),
            check_ins::confirmed_by.eq(Some(by)),
            check_ins::confirmed_at.eq(Some(at)),
        ))
        .execute(conn)?;
    for chunk in volunteers.chunks(500) {
        diesel::update(
            attendances::table
                .filter(attendances::check_in_id.eq(id))
                .filter(attendances::volunteer_id.eq_any(chunk)),
        )
        .set(attendances::confirmed.eq(true))
        .execute(conn)?;
    }
    Ok(())
}

/// The volunteers whose attendance the check-in's confirmation paid.
pub fn confirmed_volunteers(
    conn: &mut DbConnection,
    id: &CheckInId,
) -> Result<Vec<VolunteerId>, AppError> {
    Ok(attendances::table
        .filter(attendances::check_in_id.eq(id))
        .filter(attendances::confirmed.eq(true))
        .select(attendances::volunteer_id)
        .load(conn)?)
}
