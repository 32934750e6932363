//! `/v1/auth`

use actix_web::{post, web};

use crate::app::App;
use crate::app::login::{LoginRequest, TokenResponse};
use crate::error::{AppError, Problem};

/// Log in with username and password; returns a short-lived bearer token.
#[utoipa::path(
    post, path = "/v1/auth/token", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Unknown user or wrong password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/token")]
pub async fn token(
    app: web::Data<App>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(app.login(body.into_inner()).await?))
}
