//! People who log in, and the roles they hold.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{role_grants, users};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = role_grants)]
pub struct RoleGrantRow {
    pub id: String,
    pub user_id: String,
    pub role: String,
    pub organisation_id: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, user: &UserRow) -> Result<(), AppError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    Ok(())
}

pub fn grant(conn: &mut DbConnection, grant: &RoleGrantRow) -> Result<(), AppError> {
    diesel::insert_into(role_grants::table)
        .values(grant)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn grants_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<RoleGrantRow>, AppError> {
    Ok(role_grants::table
        .filter(role_grants::user_id.eq(user_id))
        .order(role_grants::id)
        .select(RoleGrantRow::as_select())
        .load(conn)?)
}
