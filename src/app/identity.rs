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
            (user.id, None)
        }
    };
    let standing = sessions::standing(conn, &user_id, session_id.as_ref())?
        .ok_or_else(|| AppError::unauthorized("the token's user does not exist"))?;
    if standing.status != UserStatus::Active {
        return Err(AppError::unauthorized("the user is disabled"));
    }
    if session_id.is_some() {
        let open = standing
            .session
            .is_some_and(|(revoked, expires)| revoked.is_none() && expires > Utc::now());
        if !open {
            return Err(AppError::unauthorized(
                "the session has ended (logged out or revoked); log in again",
            ));
        }
    }
    let grants = grants_from_rows(standing.grants);
    let wallet = if grants.iter().any(|g| g.role == Role::Volunteer) {
        volunteers::of_user(conn, &user_id)?.map(|v| v.account_id)
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

pub fn grants_from_rows(rows: Vec<GrantWithPath>) -> Vec<Grant> {
    rows.into_iter()
        .map(|(g, path)| Grant {
            id: g.id,
            role: g.role,
            organisation_id: g.organisation_id,
            path,
        })
        .collect()
}
