//! Login sessions and their refresh tokens (stored as SHA-256 digests).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::{organisations, refresh_tokens, role_grants, sessions, users};
use super::users::{GrantWithPath, RoleGrantRow};
use crate::domain::{GrantId, OrgPath, OrganisationId, Role, SessionId, UserId, UserStatus};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: UtcTime,
    pub expires_at: UtcTime,
    pub revoked_at: Option<UtcTime>,
    pub revoked_reason: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: SessionId,
    pub issued_at: UtcTime,
    pub expires_at: UtcTime,
    pub used_at: Option<UtcTime>,
}

pub fn insert(conn: &mut DbConnection, session: &SessionRow) -> Result<(), AppError> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &SessionId) -> Result<Option<SessionRow>, AppError> {
    Ok(sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .get_result(conn)
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
        .get_result(conn)
        .optional()?)
}

/// Marks a refresh token used. False when it already was: a replay, whoever
/// won the race.
pub fn use_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(UtcTime(at)))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn revoke(
    conn: &mut DbConnection,
    id: &SessionId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(UtcTime(at)),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(())
}

/// Ends every open session of a user but `except` (disabled, password
/// changed).
pub fn revoke_all_of(
    conn: &mut DbConnection,
    user_id: &UserId,
    except: Option<&SessionId>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne_all(except)),
    )
    .set((
        sessions::revoked_at.eq(UtcTime(at)),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// What every authenticated request needs, read in one query: the user's
/// status, their session (for the service's own tokens) and every role they
/// hold with its organisation's path.
pub struct Standing {
    pub status: UserStatus,
    /// (revoked at, expires at) of the session, when one was asked for and it
    /// belongs to the user.
    pub session: Option<(Option<DateTime<Utc>>, DateTime<Utc>)>,
    pub grants: Vec<GrantWithPath>,
}

type StandingRow = (
    UserStatus,
    Option<(GrantId, UserId, Role, OrganisationId, UtcTime)>,
    Option<OrgPath>,
    Option<UtcTime>,
    Option<UtcTime>,
);

pub fn standing(
    conn: &mut DbConnection,
    user_id: &UserId,
    session_id: Option<&SessionId>,
) -> Result<Option<Standing>, AppError> {
    let rows: Vec<StandingRow> = users::table
        .left_join(role_grants::table.on(role_grants::user_id.eq(users::id)))
        .left_join(organisations::table.on(organisations::id.eq(role_grants::organisation_id)))
        .left_join(
            sessions::table.on(sessions::user_id
                .eq(users::id)
                .and(sessions::id.nullable().eq(session_id))),
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
    let status = first.0;
    let session = first
        .4
        .map(|expires| (first.3.map(DateTime::from), expires.0));
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
pub fn purge_expired(conn: &mut DbConnection, before: DateTime<Utc>) -> Result<usize, AppError> {
    let tokens = diesel::delete(
        refresh_tokens::table.filter(refresh_tokens::expires_at.lt(UtcTime(before))),
    )
    .execute(conn)?;
    Ok(tokens)
}
