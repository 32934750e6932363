//! Service records: what volunteers did, each paid by one transfer.

use diesel::dsl::sum;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::DbConnection;
use super::columns::UtcTime;
use super::connection::MultiBackend;
use super::schema::service_records;
use super::subtree::within;
use crate::domain::{
    ActivityId, EarningRuleId, LedgerId, OrgPath, OrganisationId, ServiceRecordId, ServiceStatus,
    TransferId, UserId, VolunteerId,
};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = service_records)]
pub struct ServiceRecordRow {
    pub id: ServiceRecordId,
    pub client_id: Option<String>,
    pub volunteer_id: VolunteerId,
    pub activity_id: ActivityId,
    pub organisation_id: OrganisationId,
    pub ledger_id: LedgerId,
    pub started_at: UtcTime,
    pub ended_at: UtcTime,
    pub minutes: i32,
    pub points: i64,
    pub rule_id: Option<EarningRuleId>,
    pub status: ServiceStatus,
    /// None while the record waits for approval, and once it was rejected.
    pub transfer_id: Option<TransferId>,
    pub recorded_by: UserId,
    pub note: Option<String>,
    pub created_at: UtcTime,
    /// Why the record waited for a second person, if it did.
    pub approval_reason: Option<String>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<UtcTime>,
    pub decision_note: Option<String>,
}

/// A second person's decision on a record that waited for it.
pub struct Decision {
    pub status: ServiceStatus,
    pub transfer_id: Option<TransferId>,
    pub decided_by: UserId,
    pub decided_at: UtcTime,
    pub note: Option<String>,
}

/// The statuses of records that hold their volunteer's time and count
/// against the day's cap.
pub const STANDING: [ServiceStatus; 2] = [ServiceStatus::Credited, ServiceStatus::PendingApproval];

/// Many records at once (a batch's): one statement per chunk on PostgreSQL.
pub fn insert_many(conn: &mut DbConnection, rows: &[ServiceRecordRow]) -> Result<(), AppError> {
    super::connection::insert_rows!(conn, service_records::table, rows);
    Ok(())
}

pub fn get(
    conn: &mut DbConnection,
    id: &ServiceRecordId,
) -> Result<Option<ServiceRecordRow>, AppError> {
    Ok(service_records::table
        .find(id)
        .select(ServiceRecordRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &ServiceRecordId,
    status: ServiceStatus,
) -> Result<(), AppError> {
    diesel::update(service_records::table.find(id))
        .set(service_records::status.eq(status))
        .execute(conn)?;
    Ok(())
}

/// Records a decision on a record that still waits for one; false when it
/// no longer waits (decided by someone else in the meantime).
pub fn decide(
    conn: &mut DbConnection,
    id: &ServiceRecordId,
    decision: &Decision,
) -> Result<bool, AppError> {
    let changed = diesel::update(
        service_records::table
            .find(id)
            .filter(service_records::status.eq(ServiceStatus::PendingApproval)),
    )
    .set((
        service_records::status.eq(decision.status),
        service_records::transfer_id.eq(decision.transfer_id),
        service_records::decided_by.eq(decision.decided_by),
        service_records::decided_at.eq(decision.decided_at),
        service_records::decision_note.eq(&decision.note),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Minutes credited to the volunteer for service started in `[from, until)`.
pub fn credited_minutes(
    conn: &mut DbConnection,
    volunteer: &VolunteerId,
    from: Option<UtcTime>,
    until: Option<UtcTime>,
) -> Result<i64, AppError> {
    let mut query = service_records::table
        .filter(service_records::volunteer_id.eq(volunteer))
        .filter(service_records::status.eq(ServiceStatus::Credited))
        .select(sum(service_records::minutes))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(service_records::started_at.ge(from));
    }
    if let Some(until) = until {
        query = query.filter(service_records::started_at.lt(until));
    }
    Ok(query.get_result::<Option<i64>>(conn)?.unwrap_or(0))
}

/// The records of each volunteer that hold their time (credited, or waiting
/// for approval) and start inside that volunteer's window: what a whole
/// batch of records must be checked against, in one statement per 200
/// windows.
pub fn standing_in_windows(
    conn: &mut DbConnection,
    windows: &[(VolunteerId, UtcTime, UtcTime)],
) -> Result<Vec<ServiceRecordRow>, AppError> {
    type Condition =
        Box<dyn BoxableExpression<service_records::table, MultiBackend, SqlType = Bool>>;
    let mut rows = Vec::new();
    let window = |(volunteer, from, until): &(VolunteerId, UtcTime, UtcTime)| {
        service_records::volunteer_id
            .eq(*volunteer)
            .and(service_records::started_at.ge(*from))
            .and(service_records::started_at.lt(*until))
    };
    for chunk in windows.chunks(200) {
        let Some((first, rest)) = chunk.split_first() else {
            continue;
        };
        // Every arm of the OR must use the (volunteer_id, started_at) index
        // for SQLite to read it as a union of index ranges: no constant arm.
        let mut any: Condition = Box::new(window(first));
        for w in rest {
            any = Box::new(any.or(window(w)));
        }
        rows.extend(
            service_records::table
                .filter(any)
                .filter(service_records::status.eq_any(STANDING))
                .select(ServiceRecordRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// The records made under any of these client ids.
pub fn by_client_ids(
    conn: &mut DbConnection,
    client_ids: &[String],
) -> Result<Vec<ServiceRecordRow>, AppError> {
    let mut rows = Vec::new();
    for chunk in client_ids.chunks(500) {
        rows.extend(
            service_records::table
                .filter(service_records::client_id.eq_any(chunk))
                .select(ServiceRecordRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

pub struct ServiceRecordFilter {
    pub status: Option<ServiceStatus>,
    pub volunteer_id: Option<VolunteerId>,
    pub organisation_id: Option<OrganisationId>,
    pub activity_id: Option<ActivityId>,
}

/// A page of the records made inside the subtrees, newest last.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    filter: &ServiceRecordFilter,
    after: Option<ServiceRecordId>,
    limit: i64,
) -> Result<Vec<ServiceRecordRow>, AppError> {
    let mut query = service_records::table
        .filter(service_records::organisation_id.eq_any(within(subtrees)))
        .order(service_records::id)
        .limit(limit)
        .select(ServiceRecordRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service_records::id.gt(after));
    }
    if let Some(status) = filter.status {
        query = query.filter(service_records::status.eq(status));
    }
    if let Some(v) = &filter.volunteer_id {
        query = query.filter(service_records::volunteer_id.eq(*v));
    }
    if let Some(v) = &filter.organisation_id {
        query = query.filter(service_records::organisation_id.eq(*v));
    }
    if let Some(v) = &filter.activity_id {
        query = query.filter(service_records::activity_id.eq(*v));
    }
    Ok(query.load(conn)?)
}

/// The record a transfer paid, if it paid one.
pub fn paid_by(
    conn: &mut DbConnection,
    transfer: &TransferId,
) -> Result<Option<ServiceRecordId>, AppError> {
    Ok(service_records::table
        .filter(service_records::transfer_id.eq(transfer))
        .select(service_records::id)
        .get_result(conn)
        .optional()?)
}

/// What a credited record adds to its volunteer's tallies.
#[derive(Queryable, Clone, Debug)]
pub struct CreditedService {
    pub id: ServiceRecordId,
    pub volunteer_id: VolunteerId,
    pub started_at: UtcTime,
    pub minutes: i32,
    pub points: i64,
}

/// The credited records after `after`, in id order: a rebuild's chunk.
pub fn credited_after(
    conn: &mut DbConnection,
    after: Option<ServiceRecordId>,
    limit: i64,
) -> Result<Vec<CreditedService>, AppError> {
    let mut query = service_records::table
        .filter(service_records::status.eq(ServiceStatus::Credited))
        .order(service_records::id)
        .limit(limit)
        .select((
            service_records::id,
            service_records::volunteer_id,
            service_records::started_at,
            service_records::minutes,
            service_records::points,
        ))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(service_records::id.gt(after));
    }
    Ok(query.load(conn)?)
}
