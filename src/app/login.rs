//! Password login: a short-lived access token.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::caller::RoleGrant;
use super::passwords;
use crate::error::AppError;
use crate::store::rows::parse_column;
use crate::store::users;

#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl App {
    pub async fn login(&self, request: LoginRequest) -> Result<TokenResponse, AppError> {
        let refused = || AppError::unauthorized("unknown username or wrong password");
        let username = request.username.clone();
        let found = self
            .store
            .run(move |conn| {
                let Some(user) = users::find_by_username(conn, &username)? else {
                    return Ok(None);
                };
                let grants = users::grants_of(conn, &user.id)?;
                Ok(Some((user, grants)))
            })
            .await?;
        let password = request.password;
        // Hashing is slow on purpose; keep it off the async threads.
        let checked = tokio::task::spawn_blocking(move || match found {
            Some((user, grants)) if passwords::verify(&password, &user.password_hash) => {
                Some((user, grants))
            }
            Some(_) => None,
            None => {
                passwords::verify_against_nothing(&password);
                None
            }
        })
        .await
        .map_err(AppError::internal)?;
        let Some((user, grants)) = checked else {
            return Err(refused());
        };
        if user.status != "active" {
            return Err(refused());
        }
        let grants = grants
            .iter()
            .map(|g| {
                Ok(RoleGrant {
                    role: parse_column(&g.role, "role_grants.role")?,
                    organisation_id: parse_column(
                        &g.organisation_id,
                        "role_grants.organisation_id",
                    )?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let token = self
            .tokens
            .issue(parse_column(&user.id, "users.id")?, &grants)?;
        Ok(TokenResponse {
            access_token: token.token,
            token_type: "Bearer".into(),
            expires_in: token.expires_in,
        })
    }
}
