//! `/v1/leaderboards`

use actix_web::{get, web};

use super::extract::{Authenticated, Query};
use crate::app::App;
use crate::app::leaderboards::{Leaderboard, LeaderboardQuery};
use crate::error::{AppError, Problem};

/// Volunteers at home in your scope (or under `organisation`) ranked by
/// credited service hours or the points it earned, this month, this year
/// or all time. Those who did not consent appear anonymised; equal
/// measures share a rank and keep one order.
#[utoipa::path(
    get, path = "/v1/leaderboards", tag = "volunteers", params(LeaderboardQuery),
    responses(
        (status = 200, description = "A page of the ranking", body = Leaderboard),
        (status = 400, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No role that reads leaderboards", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Organisation not in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/leaderboards")]
pub async fn leaderboard(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<LeaderboardQuery>,
) -> Result<web::Json<Leaderboard>, AppError> {
    Ok(web::Json(
        app.leaderboard(&caller, query.into_inner()).await?,
    ))
}
