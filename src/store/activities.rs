//! Activities: the kinds of service an organisation offers.

use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::activities;
use super::subtree::within;
use crate::domain::{ActivityId, Category, OrgPath, OrganisationId};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub id: ActivityId,
    pub organisation_id: OrganisationId,
    pub name: String,
    pub category: Category,
    pub active: bool,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

pub fn insert(conn: &mut DbConnection, row: &ActivityRow) -> Result<(), AppError> {
    diesel::insert_into(activities::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save(conn: &mut DbConnection, row: &ActivityRow) -> Result<(), AppError> {
    diesel::update(activities::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &ActivityId) -> Result<Option<ActivityRow>, AppError> {
    Ok(activities::table
        .find(id)
        .select(ActivityRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn name_taken(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
    except: Option<&ActivityId>,
) -> Result<bool, AppError> {
    let mut query = activities::table
        .filter(activities::organisation_id.eq(organisation))
        .filter(activities::name.eq(name))
        .select(activities::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(activities::id.ne(*id));
    }
    Ok(query.get_result::<ActivityId>(conn).optional()?.is_some())
}

/// A page of the activities owned inside the subtrees or by one of `owners`
/// (the organisations above them, whose activities apply below).
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    owners: &[OrganisationId],
    active: Option<bool>,
    after: Option<ActivityId>,
    limit: i64,
) -> Result<Vec<ActivityRow>, AppError> {
    let mut query = activities::table
        .filter(
            activities::organisation_id
                .eq_any(within(subtrees))
                .or(activities::organisation_id.eq_any(owners)),
        )
        .select(ActivityRow::as_select())
        .order(activities::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(activities::id.gt(after));
    }
    if let Some(active) = active {
        query = query.filter(activities::active.eq(active));
    }
    Ok(query.load(conn)?)
}
