//! The audit log: append-only, like the journal.

use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::audit_log;
use super::subtree::within;
use crate::domain::{AuditEntryId, OrgPath, OrganisationId, UserId};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: AuditEntryId,
    pub at: UtcTime,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub organisation_id: Option<OrganisationId>,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &AuditRow) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<UserId>,
    pub action: Option<String>,
}

/// A page of entries, oldest first. Entries not tied to an organisation
/// (service configuration) are shown only when `everything` is set.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    everything: bool,
    filter: &AuditFilter,
    after: Option<AuditEntryId>,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = audit_log::table
        .select(AuditRow::as_select())
        .order(audit_log::id)
        .limit(limit)
        .into_boxed();
    if !everything {
        query = query.filter(
            audit_log::organisation_id
                .assume_not_null()
                .eq_any(within(subtrees)),
        );
    }
    if let Some(after) = after {
        query = query.filter(audit_log::id.gt(after));
    }
    if let Some(v) = &filter.entity_type {
        query = query.filter(audit_log::entity_type.eq(v.clone()));
    }
    if let Some(v) = &filter.entity_id {
        query = query.filter(audit_log::entity_id.eq(v.clone()));
    }
    if let Some(v) = &filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(*v));
    }
    if let Some(v) = &filter.action {
        query = query.filter(audit_log::action.eq(v.clone()));
    }
    Ok(query.load(conn)?)
}
