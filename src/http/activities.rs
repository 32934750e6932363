//! `/v1/activities`

use actix_web::{HttpResponse, get, patch, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::activities::{
    ActivityQuery, ActivityView, CreateActivityRequest, UpdateActivityRequest,
};
use crate::app::page::Page;
use crate::domain::ActivityId;
use crate::error::{AppError, Problem};

/// Define an activity offered in an organisation and everywhere below it.
#[utoipa::path(
    post, path = "/v1/activities", tag = "service",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateActivityRequest,
    responses(
        (status = 201, description = "Defined", body = ActivityView, headers(("Location" = String))),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation has an activity of that name (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/activities")]
pub async fn create_activity(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateActivityRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_activity(&caller, key.0.as_deref(), body.0)
            .await?,
        |a| format!("/v1/activities/{}", a.id),
    ))
}

/// Activities of your scope and those offered above it.
#[utoipa::path(
    get, path = "/v1/activities", tag = "service", params(ActivityQuery),
    responses(
        (status = 200, description = "A page of activities", body = Page<ActivityView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/activities")]
pub async fn list_activities(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<ActivityQuery>,
) -> Result<web::Json<Page<ActivityView>>, AppError> {
    Ok(web::Json(
        app.list_activities(&caller, query.into_inner()).await?,
    ))
}

/// One activity.
#[utoipa::path(
    get, path = "/v1/activities/{id}", tag = "service", params(("id" = ActivityId, Path)),
    responses(
        (status = 200, description = "The activity", body = ActivityView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/activities/{id}")]
pub async fn get_activity(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<ActivityId>,
) -> Result<web::Json<ActivityView>, AppError> {
    Ok(web::Json(app.get_activity(&caller, id.into_inner()).await?))
}

/// Rename, recategorise or retire an activity (audited).
#[utoipa::path(
    patch, path = "/v1/activities/{id}", tag = "service", params(("id" = ActivityId, Path)),
    request_body = UpdateActivityRequest,
    responses(
        (status = 200, description = "Changed", body = ActivityView),
        (status = 403, description = "Defined above your organisation", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation has an activity of that name (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/activities/{id}")]
pub async fn update_activity(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<ActivityId>,
    body: JsonObject<UpdateActivityRequest>,
) -> Result<web::Json<ActivityView>, AppError> {
    Ok(web::Json(
        app.update_activity(&caller, id.into_inner(), body.0)
            .await?,
    ))
}
