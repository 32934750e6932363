//! The organisation tree.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::organisations;
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> Result<(), AppError> {
    diesel::insert_into(organisations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<OrganisationRow>, AppError> {
    Ok(organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The first root of the tree (the scheme's city), if any.
pub fn first_root(conn: &mut DbConnection) -> Result<Option<OrganisationRow>, AppError> {
    Ok(organisations::table
        .filter(organisations::parent_id.is_null())
        .order(organisations::id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()?)
}
