//! People who log in, and the roles they hold.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::{organisations, role_grants, users};
use super::subtree::within;
use crate::domain::{GrantId, OrgPath, OrganisationId, Role, UserId, UserStatus};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub status: UserStatus,
    pub external_subject: Option<String>,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = role_grants)]
pub struct RoleGrantRow {
    pub id: GrantId,
    pub user_id: UserId,
    pub role: Role,
    pub organisation_id: OrganisationId,
    pub created_at: UtcTime,
}

/// A grant with the path of its organisation, which is what scope checks need.
pub type GrantWithPath = (RoleGrantRow, OrgPath);

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

pub fn revoke(conn: &mut DbConnection, grant_id: &GrantId) -> Result<(), AppError> {
    diesel::delete(role_grants::table.find(grant_id)).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &UserId) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_external_subject(
    conn: &mut DbConnection,
    subject: &str,
) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::external_subject.eq(subject))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn grants_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<GrantWithPath>, AppError> {
    Ok(role_grants::table
        .inner_join(organisations::table)
        .filter(role_grants::user_id.eq(user_id))
        .order(role_grants::id)
        .select((RoleGrantRow::as_select(), organisations::path))
        .load(conn)?)
}

/// A page of the users holding at least one role inside the subtrees.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserRow>, AppError> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let in_scope = role_grants::table
        .filter(role_grants::organisation_id.eq_any(within(subtrees)))
        .select(role_grants::user_id);
    let mut query = users::table
        .filter(users::id.eq_any(in_scope))
        .select(UserRow::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// The columns to change; `None` leaves one as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
pub struct UserChange<'a> {
    pub display_name: Option<&'a str>,
    pub status: Option<UserStatus>,
    pub password_hash: Option<&'a str>,
    pub external_subject: Option<Option<&'a str>>,
}

/// Sets a new password hash if the stored one is still `old`. False when it
/// changed meanwhile (a reset by an administrator wins over a stale change).
pub fn replace_password(
    conn: &mut DbConnection,
    id: &UserId,
    old: &str,
    new: &str,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = diesel::update(users::table.find(id).filter(users::password_hash.eq(old)))
        .set((
            users::password_hash.eq(new),
            users::updated_at.eq(UtcTime(at)),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn update(
    conn: &mut DbConnection,
    id: &UserId,
    change: &UserChange<'_>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set((change, users::updated_at.eq(UtcTime(at))))
        .execute(conn)?;
    Ok(())
}

/// Moves every grant of one role of a user to another organisation.
pub fn move_grants(
    conn: &mut DbConnection,
    user_id: &UserId,
    role: Role,
    org: &OrganisationId,
) -> Result<(), AppError> {
    diesel::update(
        role_grants::table
            .filter(role_grants::user_id.eq(user_id))
            .filter(role_grants::role.eq(role)),
    )
    .set(role_grants::organisation_id.eq(org))
    .execute(conn)?;
    Ok(())
}
