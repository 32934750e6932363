//! Registered volunteers.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;

use super::DbConnection;
use super::columns::UtcTime;
use super::connection::MultiBackend;
use super::schema::volunteers;
use super::subtree::within;
use crate::domain::{
    AccountId, NameSearch, OrgPath, OrganisationId, UserId, VolunteerId, VolunteerStatus,
};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone, Debug)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
#[diesel(table_name = volunteers)]
pub struct VolunteerRow {
    pub id: VolunteerId,
    pub name: String,
    pub phone_hash: String,
    pub phone_last4: String,
    pub organisation_id: OrganisationId,
    pub card_number: Option<String>,
    pub pin_hash: Option<String>,
    pub leaderboard_consent: bool,
    pub status: VolunteerStatus,
    pub account_id: AccountId,
    pub user_id: Option<UserId>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

pub fn insert(conn: &mut DbConnection, row: &VolunteerRow) -> Result<(), AppError> {
    diesel::insert_into(volunteers::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes every column of the row back (the row was read, changed and
/// validated in the same transaction).
pub fn save(conn: &mut DbConnection, row: &VolunteerRow) -> Result<(), AppError> {
    diesel::update(volunteers::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &VolunteerId) -> Result<Option<VolunteerRow>, AppError> {
    Ok(volunteers::table
        .find(id)
        .select(VolunteerRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn of_user(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Option<VolunteerRow>, AppError> {
    Ok(volunteers::table
        .filter(volunteers::user_id.eq(user_id))
        .select(VolunteerRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Volunteers by id, many at once.
pub fn many(conn: &mut DbConnection, ids: &[VolunteerId]) -> Result<Vec<VolunteerRow>, AppError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            volunteers::table
                .filter(volunteers::id.eq_any(chunk))
                .select(VolunteerRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

pub fn by_card(conn: &mut DbConnection, card: &str) -> Result<Option<VolunteerRow>, AppError> {
    Ok(volunteers::table
        .filter(volunteers::card_number.eq(card))
        .select(VolunteerRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn card_taken(
    conn: &mut DbConnection,
    card: &str,
    except: Option<&VolunteerId>,
) -> Result<bool, AppError> {
    let mut query = volunteers::table
        .filter(volunteers::card_number.eq(card))
        .select(volunteers::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(volunteers::id.ne(*id));
    }
    Ok(query.get_result::<VolunteerId>(conn).optional()?.is_some())
}

pub struct VolunteerFilter {
    pub organisation_id: Option<OrganisationId>,
    pub phone_hash: Option<String>,
    pub card_number: Option<String>,
    pub name: Option<NameSearch>,
    pub status: Option<VolunteerStatus>,
}

/// `volunteers.name` contains the search, A to Z folded on both sides.
/// SQLite's `lower` folds only A to Z; PostgreSQL's follows the column's
/// collation, so it is given "C", which folds only A to Z too: both backends
/// find the same names. (SQLite's LIKE is case-sensitive here, see
/// `store::connection`.)
#[derive(Clone, Debug)]
pub struct NameContains(String);

impl Expression for NameContains {
    type SqlType = Bool;
}

impl QueryFragment<Sqlite> for NameContains {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("lower(volunteers.name) LIKE ");
        out.push_bind_param::<Text, String>(&self.0)?;
        out.push_sql(" ESCAPE '\\'");
        Ok(())
    }
}

impl QueryFragment<Pg> for NameContains {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("lower(volunteers.name COLLATE \"C\") LIKE ");
        out.push_bind_param::<Text, String>(&self.0)?;
        out.push_sql(" ESCAPE '\\'");
        Ok(())
    }
}

impl QueryFragment<MultiBackend> for NameContains {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

impl QueryId for NameContains {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl AppearsOnTable<volunteers::table> for NameContains {}
impl SelectableExpression<volunteers::table> for NameContains {}
impl ValidGrouping<()> for NameContains {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// A page of the volunteers whose home is inside the subtrees.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    filter: &VolunteerFilter,
    after: Option<VolunteerId>,
    limit: i64,
) -> Result<Vec<VolunteerRow>, AppError> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = volunteers::table
        .filter(volunteers::organisation_id.eq_any(within(subtrees)))
        .select(VolunteerRow::as_select())
        .order(volunteers::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(volunteers::id.gt(after));
    }
    if let Some(v) = &filter.organisation_id {
        query = query.filter(volunteers::organisation_id.eq(*v));
    }
    if let Some(v) = &filter.phone_hash {
        query = query.filter(volunteers::phone_hash.eq(v.clone()));
    }
    if let Some(v) = &filter.card_number {
        query = query.filter(volunteers::card_number.eq(v.clone()));
    }
    if let Some(v) = &filter.name {
        query = query.filter(NameContains(v.like_pattern()));
    }
    if let Some(v) = &filter.status {
        query = query.filter(volunteers::status.eq(*v));
    }
    Ok(query.load(conn)?)
}
