//! `/v1/service-records`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::{created, found};
use crate::app::App;
use crate::app::page::Page;
use crate::app::service_records::{
    RecordServiceRequest, ServiceReceipt, ServiceRecordQuery, ServiceRecordView,
};
use crate::domain::ServiceRecordId;
use crate::error::{AppError, Problem};

/// Record service a volunteer did. It is priced by the earning rule in force
/// when the service started, and the volunteer's wallet is credited from the
/// issuance account in the same step. A record sent again with its
/// `client_id` is answered 200 with the record as made the first time.
#[utoipa::path(
    post, path = "/v1/service-records", tag = "service",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = RecordServiceRequest,
    responses(
        (status = 201, description = "Recorded and credited", body = ServiceReceipt, headers(("Location" = String))),
        (status = 200, description = "Recorded before under this client_id", body = ServiceReceipt, headers(("Location" = String))),
        (status = 400, description = "Invalid: times, duration, an unknown volunteer or activity", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The volunteer has service recorded at that time (`overlapping_service`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over a cap (`service_cap_exceeded`), shorter than the unit (`service_too_short`), inactive volunteer (`volunteer_inactive`), client_id reused (`client_id_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records")]
pub async fn record_service(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<RecordServiceRequest>,
) -> Result<HttpResponse, AppError> {
    let answer = app
        .record_service(&caller, key.0.as_deref(), body.0)
        .await?;
    let first_time = answer.outcome.as_ref().map_or(true, |o| o.first_time);
    let answer = answer.map(|o| o.receipt);
    let location = |r: &ServiceReceipt| format!("/v1/service-records/{}", r.record.id);
    Ok(if first_time {
        created(answer, location)
    } else {
        found(answer, location)
    })
}

/// Service records made in your scope, oldest first.
#[utoipa::path(
    get, path = "/v1/service-records", tag = "service", params(ServiceRecordQuery),
    responses(
        (status = 200, description = "A page of service records", body = Page<ServiceRecordView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/service-records")]
pub async fn list_service_records(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<ServiceRecordQuery>,
) -> Result<web::Json<Page<ServiceRecordView>>, AppError> {
    Ok(web::Json(
        app.list_service_records(&caller, query.into_inner())
            .await?,
    ))
}

/// One service record: in your scope, or your own service.
#[utoipa::path(
    get, path = "/v1/service-records/{id}", tag = "service", params(("id" = ServiceRecordId, Path)),
    responses(
        (status = 200, description = "The record", body = ServiceRecordView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/service-records/{id}")]
pub async fn get_service_record(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<ServiceRecordId>,
) -> Result<web::Json<ServiceRecordView>, AppError> {
    Ok(web::Json(
        app.get_service_record(&caller, id.into_inner()).await?,
    ))
}
