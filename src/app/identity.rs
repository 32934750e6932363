//! Authentication: a token proves who the caller is; the database says whether
//! they may still act and what they hold now. Read on every request, so a
//! disabled user, a revoked role or an ended session stops working at once,
//! on every instance.

use chrono::Utc;

use super::App;
use super::caller::{Caller, Grant};
use super::tokens::Subject;
use crate::domain::{Role, UserStatus};
use crate::error::AppError;
use crate::store::rows::{from_db_time, parse_column};
use crate::store::users::GrantWithPath;
use crate::store::{DbConnection, sessions, users, volunteers};

impl App {
    pub async fn authenticate(&self, token: &str) -> Result<Caller, AppError> {
        let subject = self.tokens.verify(token)?;
        self.standing_reads
            .read(&self.store, subject, caller_of)
            .await
    }
}

fn caller_of(conn: &mut DbConnection, subject: &Subject) -> Result<Caller, AppError> {
    let (user_id, session_id) = match subject {
        Subject::Local { user, session } => (*user, Some(*session)),
        Subject::External { subject } => {
            let user = users::find_by_external_subject(conn, subject)?.ok_or_else(|| {
                AppError::unauthorized("no user is linked to this identity provider subject")
            })?;
            (parse_column(&user.id, "users.id")?, None)
        }
    };
    let session_text = session_id.map(|s| s.to_string());
    let standing = sessions::standing(conn, &user_id.to_string(), session_text.as_deref())?
        .ok_or_else(|| AppError::unauthorized("the token's user does not exist"))?;
    if parse_column::<UserStatus>(&standing.status, "users.status")? != UserStatus::Active {
        return Err(AppError::unauthorized("the user is disabled"));
    }
    if session_id.is_some() {
        let open = standing.session.is_some_and(|(revoked, expires)| {
            revoked.is_none() && from_db_time(expires) > Utc::now()
        });
        if !open {
            return Err(AppError::unauthorized(
                "the session has ended (logged out or revoked); log in again",
            ));
        }
    }
    let grants = grants_from_rows(standing.grants)?;
    let wallet = if grants.iter().any(|g| g.role == Role::Volunteer) {
        volunteers::of_user(conn, &user_id.to_string())?
            .map(|v| parse_column(&v.account_id, "volunteers.account_id"))
            .transpose()?
    } else {
        None
    };
    Ok(Caller {
        user_id,
        session_id,
        grants,
        wallet,
    })
}

pub fn grants_from_rows(rows: Vec<GrantWithPath>) -> Result<Vec<Grant>, AppError> {
    rows.into_iter()
        .map(|(g, path)| {
            Ok(Grant {
                id: parse_column(&g.id, "role_grants.id")?,
                role: parse_column(&g.role, "role_grants.role")?,
                organisation_id: parse_column(&g.organisation_id, "role_grants.organisation_id")?,
                path: parse_column(&path, "organisations.path")?,
            })
        })
        .collect()
}
