//! Login sessions and their refresh tokens (stored as SHA-256 digests).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{organisations, refresh_tokens, role_grants, sessions, users};
use super::users::{GrantWithPath, RoleGrantRow};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, session: &SessionRow) -> Result<(), AppError> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<SessionRow>, AppError> {
    Ok(sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token: &RefreshTokenRow,
) -> Result<(), AppError> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RefreshTokenRow>, AppError> {
    Ok(refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a refresh token used. False when it already was: a replay, whoever
/// won the race.
pub fn use_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let changed = diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn revoke(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(at),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(())
}

/// Ends every open session of a user but `except` (disabled, password
/// changed).
pub fn revoke_all_of(
    conn: &mut DbConnection,
    user_id: &str,
    except: Option<&str>,
    reason: &str,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(except.unwrap_or_default())),
    )
    .set((
        sessions::revoked_at.eq(at),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// What every authenticated request needs, read in one query: the user's
/// status, their session (for the service's own tokens) and every role they
/// hold with its organisation's path.
pub struct Standing {
    pub status: String,
    /// (revoked at, expires at) of the session, when one was asked for and it
    /// belongs to the user.
    pub session: Option<(Option<NaiveDateTime>, NaiveDateTime)>,
    pub grants: Vec<GrantWithPath>,
}

type StandingRow = (
    String,
    Option<(String, String, String, String, NaiveDateTime)>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

pub fn standing(
    conn: &mut DbConnection,
    user_id: &str,
    session_id: Option<&str>,
) -> Result<Option<Standing>, AppError> {
    let session_id = session_id.unwrap_or_default().to_string();
    let rows: Vec<StandingRow> = users::table
        .left_join(role_grants::table.on(role_grants::user_id.eq(users::id)))
        .left_join(organisations::table.on(organisations::id.eq(role_grants::organisation_id)))
        .left_join(
            sessions::table.on(sessions::user_id
                .eq(users::id)
                .and(sessions::id.eq(session_id))),
        )
        .filter(users::id.eq(user_id))
        .order(role_grants::id)
        .select((
            users::status,
            (
                role_grants::id,
                role_grants::user_id,
                role_grants::role,
                role_grants::organisation_id,
                role_grants::created_at,
            )
                .nullable(),
            organisations::path.nullable(),
            sessions::revoked_at.nullable(),
            sessions::expires_at.nullable(),
        ))
        .load(conn)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let status = first.0.clone();
    let session = first.4.map(|expires| (first.3, expires));
    let grants = rows
        .into_iter()
        .filter_map(|(_, grant, path, _, _)| {
            let (id, user_id, role, organisation_id, created_at) = grant?;
            Some((
                RoleGrantRow {
                    id,
                    user_id,
                    role,
                    organisation_id,
                    created_at,
                },
                path?,
            ))
        })
        .collect();
    Ok(Some(Standing {
        status,
        session,
        grants,
    }))
}

/// Removes refresh tokens and sessions long past their expiry.
pub fn purge_expired(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, AppError> {
    let tokens =
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before)))
            .execute(conn)?;
    Ok(tokens)
}
