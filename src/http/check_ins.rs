//! `/v1/check-ins` and `/v1/me/check-in`, `/v1/me/check-out`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use super::service_records::{ServiceBatchView, batch_view};
use crate::app::App;
use crate::app::check_ins::{
    CheckInCodeRequest, CheckInDetail, CheckInQuery, CheckInView, ConfirmCheckInRequest,
    MyAttendance, OpenCheckInRequest,
};
use crate::app::page::Page;
use crate::domain::CheckInId;
use crate::error::{AppError, Problem};

/// Open a check-in for an event: volunteers check in with its code (or the
/// QR code carrying it) from their own login while it is valid, and check
/// out with it until you confirm the list.
#[utoipa::path(
    post, path = "/v1/check-ins", tag = "service",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = OpenCheckInRequest,
    responses(
        (status = 201, description = "Opened", body = CheckInView, headers(("Location" = String))),
        (status = 400, description = "Invalid: an activity not offered there, a place outside your scope, a code lifetime out of range", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/check-ins")]
pub async fn open_check_in(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<OpenCheckInRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.open_check_in(&caller, key.0.as_deref(), body.0).await?,
        |c| format!("/v1/check-ins/{}", c.id),
    ))
}

/// Check-ins opened in your scope, oldest first.
#[utoipa::path(
    get, path = "/v1/check-ins", tag = "service", params(CheckInQuery),
    responses(
        (status = 200, description = "A page of check-ins", body = Page<CheckInView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/check-ins")]
pub async fn list_check_ins(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<CheckInQuery>,
) -> Result<web::Json<Page<CheckInView>>, AppError> {
    Ok(web::Json(
        app.list_check_ins(&caller, query.into_inner()).await?,
    ))
}

/// A check-in and its attendance list.
#[utoipa::path(
    get, path = "/v1/check-ins/{id}", tag = "service", params(("id" = CheckInId, Path)),
    responses(
        (status = 200, description = "The check-in", body = CheckInDetail),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/check-ins/{id}")]
pub async fn get_check_in(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<CheckInId>,
) -> Result<web::Json<CheckInDetail>, AppError> {
    Ok(web::Json(app.get_check_in(&caller, id.into_inner()).await?))
}

/// Confirm who attended: each confirmed attendance becomes a service record,
/// priced and credited (or held for approval) like any other, each
/// succeeding or failing on its own; the check-in closes. Anyone left out is
/// not paid. Sent again with the same list, it answers each record as made
/// the first time and credits nothing twice.
#[utoipa::path(
    post, path = "/v1/check-ins/{id}/confirm", tag = "service", params(("id" = CheckInId, Path)),
    request_body = ConfirmCheckInRequest,
    responses(
        (status = 200, description = "Each confirmed volunteer's record, in the order confirmed", body = ServiceBatchView),
        (status = 400, description = "Invalid list: someone who did not check in, named twice, or with no end", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Confirmed before with another list (`check_in_closed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/check-ins/{id}/confirm")]
pub async fn confirm_check_in(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<CheckInId>,
    body: JsonObject<ConfirmCheckInRequest>,
) -> Result<web::Json<ServiceBatchView>, AppError> {
    let (client_ids, answers) = app
        .confirm_check_in(&caller, id.into_inner(), body.0)
        .await?
        .into_iter()
        .unzip();
    Ok(web::Json(batch_view(answers, client_ids)))
}

/// Check in to an event with the code shown there, from your own volunteer
/// login.
#[utoipa::path(
    post, path = "/v1/me/check-in", tag = "service",
    request_body = CheckInCodeRequest,
    responses(
        (status = 201, description = "Checked in", body = MyAttendance),
        (status = 400, description = "Not a code", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a volunteer's login", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open check-in has this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Checked in already (`already_checked_in`), or the list was confirmed (`check_in_closed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code has expired (`check_in_code_expired`), or your membership is not active (`volunteer_inactive`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/me/check-in")]
pub async fn check_in(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    body: JsonObject<CheckInCodeRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(app.check_in(&caller, body.0).await?))
}

/// Check out of an event with the same code, when you leave.
#[utoipa::path(
    post, path = "/v1/me/check-out", tag = "service",
    request_body = CheckInCodeRequest,
    responses(
        (status = 200, description = "Checked out", body = MyAttendance),
        (status = 400, description = "Not a code", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a volunteer's login", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open check-in has this code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not checked in, or checked out already (`not_checked_in`); the list was confirmed (`check_in_closed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/me/check-out")]
pub async fn check_out(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    body: JsonObject<CheckInCodeRequest>,
) -> Result<web::Json<MyAttendance>, AppError> {
    Ok(web::Json(app.check_out(&caller, body.0).await?))
}
