//! Signing in and out: password login (throttled), refresh-token rotation with
//! reuse detection, and logout.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::App;
use super::caller::{Caller, RoleGrant};
use super::identity::grants_from_rows;
use super::login_throttle::{self, Buckets};
use super::passwords;
use crate::domain::{Line, Password, SessionId, UserId, UserStatus, Username};
use crate::error::AppError;
use crate::store::sessions::{self, RefreshTokenRow, SessionRow};
use crate::store::{DbConnection, users, write_transaction};

/// A password login.
#[derive(Clone, Deserialize, ToSchema)]
#[schema(examples(json!({
    "username": "admin",
    "password": "choose-a-long-password"
})))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username, as registered (case and width are normalised).
    #[schema(value_type = String)]
    pub username: Line,
    /// The password.
    #[schema(value_type = String, max_length = 1024)]
    pub password: Password,
}

/// Exchanges a refresh token for a new access and refresh token pair.
#[derive(Clone, Deserialize, ToSchema)]
#[schema(examples(json!({
    "refresh_token": "rt_0193a5b07e1a7c3e9a413f5e2b7c9d0c.Zq3kV9mB2xP7tL4wY8nR1sD6"
})))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// A new access token and refresh token.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzYTViMCJ9.c2lnbmF0dXJl",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "rt_0193a5b07e1a7c3e9a413f5e2b7c9d0c.Zq3kV9mB2xP7tL4wY8nR1sD6",
    "refresh_expires_in": 2592000
})))]
pub struct TokenResponse {
    /// Bearer JWT for the `Authorization` header.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: `POST /v1/auth/refresh` exchanges it for a new pair. Using
    /// one twice ends the whole session.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

fn refused() -> AppError {
    AppError::unauthorized("unknown username or wrong password")
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn fresh_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a refresh attempt found, decided inside its transaction so that a
/// detected replay's revocation commits even though the request is refused.
enum Refreshed {
    Issued(TokenResponse),
    Refused(&'static str),
}

impl App {
    pub async fn login(
        &self,
        request: LoginRequest,
        address: Option<String>,
    ) -> Result<TokenResponse, AppError> {
        if !self.password_login {
            return Err(AppError::forbidden(
                "password login is off; sign in with the identity provider",
            ));
        }
        let limits = self.login_limits;
        // Compared as stored: in the RFC 8265 form. A name that has no such
        // form belongs to nobody, and is refused like an unknown one; such
        // names share one counter (they may be any length).
        let username = Username::parse(&request.username).ok();
        let counted_as = username
            .as_ref()
            .map_or_else(|| "(not a username)".to_string(), Username::to_string);
        let buckets = Buckets::new(&counted_as, address.as_deref());
        let typed = request.username.trim().to_string();
        let now = Utc::now();
        let found = self
            .store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    login_throttle::admit(conn, &limits, &buckets, now)?;
                    let Some(name) = &username else {
                        return Ok(None);
                    };
                    match users::find_by_username(conn, name.as_str())? {
                        Some(user) => Ok(Some(user)),
                        // Rows made before names were normalised hold them as
                        // typed; their owners still log in so.
                        None if typed != name.as_str() => users::find_by_username(conn, &typed),
                        None => Ok(None),
                    }
                })
            })
            .await?;
        let password = request.password.as_str().to_string();
        // Hashing is slow on purpose; keep it off the async threads.
        let user = tokio::task::spawn_blocking(move || match found {
            Some(user) if passwords::verify(&password, &user.password_hash) => Some(user),
            Some(_) => None,
            None => {
                passwords::verify_against_nothing(&password);
                None
            }
        })
        .await
        .map_err(AppError::internal)?;
        let buckets = Buckets::new(&counted_as, address.as_deref());
        let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
            // The attempt is already counted.
            return Err(refused());
        };
        let user_id = user.id;
        let checked_hash = user.password_hash;
        let app = self.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    // The password was checked outside this transaction: if it was
                    // reset or the user disabled meanwhile, the check no longer
                    // holds, and a session made now would outlive the revocation.
                    let still = users::get(conn, &user_id)?.is_some_and(|u| {
                        u.password_hash == checked_hash && u.status == UserStatus::Active
                    });
                    if !still {
                        return Err(refused());
                    }
                    login_throttle::succeeded(conn, &buckets)?;
                    let session = SessionId::generate();
                    let now = Utc::now();
                    sessions::insert(
                        conn,
                        &SessionRow {
                            id: session,
                            user_id,
                            created_at: now.into(),
                            expires_at: (now + app.refresh_ttl()).into(),
                            revoked_at: None,
                            revoked_reason: None,
                        },
                    )?;
                    app.token_pair(conn, user_id, session, now)
                })
            })
            .await
    }

    pub async fn refresh(&self, request: RefreshRequest) -> Result<TokenResponse, AppError> {
        if !self.password_login {
            return Err(AppError::forbidden(
                "the service's own sessions are off; sign in with the identity provider",
            ));
        }
        let hash = digest(&request.refresh_token);
        let app = self.clone();
        let outcome = self
            .store
            .run(move |conn| write_transaction(conn, |conn| app.rotate(conn, &hash)))
            .await?;
        match outcome {
            Refreshed::Issued(tokens) => Ok(tokens),
            Refreshed::Refused(why) => Err(AppError::unauthorized(why)),
        }
    }

    fn rotate(&self, conn: &mut DbConnection, hash: &str) -> Result<Refreshed, AppError> {
        let now = Utc::now();
        let Some(token) = sessions::find_refresh_token(conn, hash)? else {
            return Ok(Refreshed::Refused("unknown refresh token"));
        };
        let Some(session) = sessions::get(conn, &token.session_id)? else {
            return Ok(Refreshed::Refused("unknown refresh token"));
        };
        if session.revoked_at.is_some() {
            return Ok(Refreshed::Refused("the session has ended; log in again"));
        }
        if !sessions::use_refresh_token(conn, hash, now)? {
            // A used token presented again: stolen or replayed. End the whole
            // family so neither party keeps going with it.
            sessions::revoke(conn, &session.id, "refresh token reused", now)?;
            tracing::warn!(session = %session.id, "refresh token reused; session revoked");
            return Ok(Refreshed::Refused(
                "refresh token already used; the session is revoked, log in again",
            ));
        }
        if token.expires_at.0 <= now || session.expires_at.0 <= now {
            return Ok(Refreshed::Refused(
                "the refresh token has expired; log in again",
            ));
        }
        let user = users::get(conn, &session.user_id)?.filter(|u| u.status == UserStatus::Active);
        if user.is_none() {
            return Ok(Refreshed::Refused("the user is disabled"));
        }
        Ok(Refreshed::Issued(self.token_pair(
            conn,
            session.user_id,
            session.id,
            now,
        )?))
    }

    /// Ends the caller's session: its refresh tokens and every access token
    /// issued under it stop working at once.
    pub async fn logout(&self, caller: &Caller) -> Result<(), AppError> {
        let Some(session) = caller.session_id else {
            // Identity provider tokens end at the provider.
            return Ok(());
        };
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    sessions::revoke(conn, &session, "logged out", Utc::now())
                })
            })
            .await
    }

    fn refresh_ttl(&self) -> Duration {
        Duration::seconds(self.refresh_token_ttl.as_secs() as i64)
    }

    /// A new access token and a new refresh token in `session`.
    fn token_pair(
        &self,
        conn: &mut DbConnection,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, AppError> {
        let refresh = fresh_refresh_token();
        let session_row =
            sessions::get(conn, &session)?.ok_or_else(|| AppError::internal("session vanished"))?;
        let expires_at = session_row.expires_at.0.min(now + self.refresh_ttl());
        sessions::insert_refresh_token(
            conn,
            &RefreshTokenRow {
                token_hash: digest(&refresh),
                session_id: session,
                issued_at: now.into(),
                expires_at: expires_at.into(),
                used_at: None,
            },
        )?;
        let grants: Vec<RoleGrant> = grants_from_rows(users::grants_of(conn, &user)?)
            .into_iter()
            .map(|g| RoleGrant {
                role: g.role,
                organisation_id: g.organisation_id,
            })
            .collect();
        let access = self.tokens.issue(user, session, &grants)?;
        Ok(TokenResponse {
            access_token: access.token,
            token_type: "Bearer".into(),
            expires_in: access.expires_in,
            refresh_token: refresh,
            refresh_expires_in: (expires_at - now).num_seconds().max(0) as u64,
        })
    }
}
