//! `/v1/volunteers`

use actix_web::{HttpResponse, get, patch, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::page::Page;
use crate::app::volunteer_summary::VolunteerSummary;
use crate::app::volunteers::{
    CreateVolunteerRequest, UpdateVolunteerRequest, VolunteerQuery, VolunteerView,
};
use crate::domain::VolunteerId;
use crate::error::{AppError, Problem};

/// Register a volunteer in your scope; opens their wallet.
#[utoipa::path(
    post, path = "/v1/volunteers", tag = "volunteers",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateVolunteerRequest,
    responses(
        (status = 201, description = "Registered", body = VolunteerView, headers(("Location" = String))),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Card number or username taken (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/volunteers")]
pub async fn create_volunteer(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateVolunteerRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_volunteer(&caller, key.0.as_deref(), body.0)
            .await?,
        |v| format!("/v1/volunteers/{}", v.id),
    ))
}

/// Volunteers whose home is in your scope; search by phone, card number or name.
#[utoipa::path(
    get, path = "/v1/volunteers", tag = "volunteers", params(VolunteerQuery),
    responses(
        (status = 200, description = "A page of volunteers", body = Page<VolunteerView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/volunteers")]
pub async fn list_volunteers(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<VolunteerQuery>,
) -> Result<web::Json<Page<VolunteerView>>, AppError> {
    Ok(web::Json(
        app.list_volunteers(&caller, query.into_inner()).await?,
    ))
}

/// One volunteer.
#[utoipa::path(
    get, path = "/v1/volunteers/{id}", tag = "volunteers", params(("id" = VolunteerId, Path)),
    responses(
        (status = 200, description = "The volunteer", body = VolunteerView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/volunteers/{id}")]
pub async fn get_volunteer(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<VolunteerId>,
) -> Result<web::Json<VolunteerView>, AppError> {
    Ok(web::Json(
        app.get_volunteer(&caller, id.into_inner()).await?,
    ))
}

/// Change a volunteer's registration (audited).
#[utoipa::path(
    patch, path = "/v1/volunteers/{id}", tag = "volunteers", params(("id" = VolunteerId, Path)),
    request_body = UpdateVolunteerRequest,
    responses(
        (status = 200, description = "Changed", body = VolunteerView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/volunteers/{id}")]
pub async fn update_volunteer(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<VolunteerId>,
    body: JsonObject<UpdateVolunteerRequest>,
) -> Result<web::Json<VolunteerView>, AppError> {
    Ok(web::Json(
        app.update_volunteer(&caller, id.into_inner(), body.0)
            .await?,
    ))
}

/// A volunteer's hours (total, this year, this month), points earned and
/// spent, balance and star level: for readers of their scope and for the
/// volunteer.
#[utoipa::path(
    get, path = "/v1/volunteers/{id}/summary", tag = "volunteers", params(("id" = VolunteerId, Path)),
    responses(
        (status = 200, description = "The summary", body = VolunteerSummary),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/volunteers/{id}/summary")]
pub async fn volunteer_summary(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<VolunteerId>,
) -> Result<web::Json<VolunteerSummary>, AppError> {
    Ok(web::Json(
        app.volunteer_summary(&caller, id.into_inner()).await?,
    ))
}
