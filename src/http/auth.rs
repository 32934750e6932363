//! `/v1/auth`: log in, refresh, log out.

use actix_web::{HttpRequest, HttpResponse, post, web};

use super::extract::{Authenticated, JsonObject, client_address};
use crate::app::App;
use crate::app::login::{LoginRequest, RefreshRequest, TokenResponse};
use crate::error::{AppError, Problem};

/// Log in with username and password: a short-lived access token and a
/// single-use refresh token. Failed logins are limited per username and per
/// client address.
#[utoipa::path(
    post, path = "/v1/auth/token", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Unknown user or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(())
)]
#[post("/v1/auth/token")]
pub async fn token(
    app: web::Data<App>,
    req: HttpRequest,
    body: JsonObject<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(app.login(body.0, client_address(&req)).await?))
}

/// Exchange a refresh token for a new access token and refresh token. A
/// refresh token works once; presenting it again ends the whole session.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenResponse),
        (status = 401, description = "Unknown, used, expired or revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    app: web::Data<App>,
    body: JsonObject<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    Ok(web::Json(app.refresh(body.0).await?))
}

/// End the session of the presented access token: it and its refresh tokens
/// stop working at once.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/auth/logout")]
pub async fn logout(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, AppError> {
    app.logout(&caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
