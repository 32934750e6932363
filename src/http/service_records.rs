//! `/v1/service-records`

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query, from_object};
use super::respond::{changed, created, found};
use crate::app::App;
use crate::app::page::Page;
use crate::app::service_act::ServiceRecorded;
use crate::app::service_approval::{ApproveServiceRequest, RejectServiceRequest};
use crate::app::service_records::{
    RecordEventRequest, RecordServiceRequest, ReverseServiceRequest, ServiceReceipt,
    ServiceRecordQuery, ServiceRecordView,
};
use crate::domain::ServiceRecordId;
use crate::error::{AppError, ErrorCode, Problem};

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

/// A batch of service records as sent: each record is read on its own, so
/// one that does not parse is refused alone.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({"records": [{
    "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "started_at": "2026-03-14T09:00:00+08:00",
    "minutes": 120,
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40"
}]})))]
#[serde(deny_unknown_fields)]
pub struct ServiceBatchBody {
    /// 1 to 500 records, each a `RecordServiceRequest` with its `client_id`.
    /// Each is read on its own: one that does not parse is refused in its
    /// own result, not with the batch.
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 500)]
    pub records: Vec<serde_json::Value>,
}

/// What became of one record of a batch.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "index": 0,
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40",
    "status": 409,
    "problem": {
        "type": "/problems/overlapping_service",
        "title": "The volunteer already has service recorded at that time",
        "status": 409,
        "detail": "the volunteer already has service from 2026-03-14T01:00:00+00:00 to 2026-03-14T03:00:00+00:00 (record 0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d50)",
        "code": "overlapping_service"
    }
})))]
pub struct ServiceBatchItem {
    /// The record's place in the batch, from 0.
    pub index: usize,
    /// The record's client id, as sent.
    pub client_id: Option<String>,
    /// 201 made now, 200 made before under this client id, or the refusal's status.
    pub status: u16,
    /// The record and the new balance, when it was made (now or before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<ServiceReceipt>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The outcome of each record of a batch, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({"created": 1, "found": 0, "refused": 0, "results": [{
    "index": 0,
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40",
    "status": 201,
    "record": {
        "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d50",
        "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40",
        "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
        "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
        "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
        "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
        "started_at": "2026-03-14T01:00:00Z",
        "ended_at": "2026-03-14T03:00:00Z",
        "minutes": 120,
        "hours": "2.00",
        "points": "20.00",
        "earning_rule_id": null,
        "status": "credited",
        "transfer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d51",
        "recorded_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
        "note": null,
        "created_at": "2026-03-14T03:35:00Z",
        "balance": "20.00"
    }
}]})))]
pub struct ServiceBatchView {
    /// Records made by this request.
    pub created: usize,
    /// Records found made before under their client ids.
    pub found: usize,
    /// Records refused.
    pub refused: usize,
    /// One entry per record sent.
    pub results: Vec<ServiceBatchItem>,
}

/// Record up to 500 records at once, as a phone syncs what it recorded
/// offline, or as an event's attendance sheet (`text/csv`: columns
/// `volunteer` (id or card number), `activity_id`, `started_at`, `ended_at`
/// or `minutes`, and optionally `organisation_id`, `note`, `client_id`).
/// Each record succeeds or fails on its own; a record already received is
/// answered as before and never credited twice, so a whole batch may be sent
/// again safely.
#[utoipa::path(
    post, path = "/v1/service-records/batch", tag = "service",
    request_body(content(
        (ServiceBatchBody = "application/json"),
        (String = "text/csv", example = json!("volunteer,activity_id,started_at,minutes\nGL0001,0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21,2026-03-14 09:00,120\n"))
    )),
    responses(
        (status = 200, description = "Each record's outcome", body = ServiceBatchView),
        (status = 400, description = "Not a batch, or more than 500 records", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records/batch")]
pub async fn record_service_batch(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<ServiceBatchView>, AppError> {
    let body = payload
        .to_bytes_limited(super::MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::new(ErrorCode::PayloadTooLarge, "the body is too large"))?
        .map_err(|e| {
            tracing::debug!(error = %e, "unreadable body");
            AppError::invalid_field("body", "could not be read (cut off or badly encoded)")
        })?;
    let media = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let requests: Vec<Result<RecordServiceRequest, AppError>> = match media.as_deref() {
        Some("application/json") => {
            let batch: ServiceBatchBody = from_object(&body)?;
            // Each record fails on its own, but something that is not a record
            // at all makes the batch malformed.
            if let Some(i) = batch.records.iter().position(|r| !r.is_object()) {
                return Err(AppError::invalid_field(
                    format!("records[{i}]"),
                    "must be a JSON object",
                ));
            }
            batch
                .records
                .into_iter()
                .enumerate()
                .map(|(i, record)| parse_record(i, record))
                .collect()
        }
        Some("text/csv") => super::service_csv::read(&body, app.service_zone)?,
        _ => {
            return Err(AppError::new(
                ErrorCode::UnsupportedMediaType,
                "send the batch as application/json or text/csv",
            ));
        }
    };
    let client_ids: Vec<Option<String>> = requests
        .iter()
        .map(|r| {
            r.as_ref()
                .ok()
                .and_then(|r| r.client_id)
                .map(|c| c.hyphenated().to_string())
        })
        .collect();
    let answers = app.record_service_batch(&caller, requests).await?;
    Ok(web::Json(batch_view(answers, client_ids)))
}

/// Record a whole event at once: one activity and time for many volunteers.
/// Each volunteer's record succeeds or fails on its own, as in a batch; the
/// event's `client_id` makes the whole event safe to send again.
#[utoipa::path(
    post, path = "/v1/service-records/event", tag = "service",
    request_body = RecordEventRequest,
    responses(
        (status = 200, description = "Each volunteer's outcome, in the order given", body = ServiceBatchView),
        (status = 400, description = "Invalid, or more than 500 volunteers", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a coordinator or administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records/event")]
pub async fn record_event(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    body: JsonObject<RecordEventRequest>,
) -> Result<web::Json<ServiceBatchView>, AppError> {
    let records = body.0.records()?;
    let client_ids = records
        .iter()
        .map(|r| r.client_id.map(|c| c.hyphenated().to_string()))
        .collect();
    let answers = app
        .record_service_batch(&caller, records.into_iter().map(Ok).collect())
        .await?;
    Ok(web::Json(batch_view(answers, client_ids)))
}

/// Each record's outcome as the wire shows it: 201 made now, 200 made
/// before, or its refusal.
pub(super) fn batch_view(
    answers: Vec<Result<ServiceRecorded, AppError>>,
    client_ids: Vec<Option<String>>,
) -> ServiceBatchView {
    let mut view = ServiceBatchView {
        created: 0,
        found: 0,
        refused: 0,
        results: Vec::with_capacity(answers.len()),
    };
    for (index, (answer, client_id)) in answers.into_iter().zip(client_ids).enumerate() {
        let (status, record, problem) = match answer {
            Ok(made) if made.first_time => {
                view.created += 1;
                (201, Some(made.receipt), None)
            }
            Ok(made) => {
                view.found += 1;
                (200, Some(made.receipt), None)
            }
            Err(refusal) => {
                view.refused += 1;
                (refusal.code.status(), None, Some(refusal.problem()))
            }
        };
        view.results.push(ServiceBatchItem {
            index,
            client_id,
            status,
            record,
            problem,
        });
    }
    view
}

/// One record of a batch, read as a single request would be; a field that
/// does not parse is named with the record's place (`records[3].minutes`).
fn parse_record(index: usize, record: serde_json::Value) -> Result<RecordServiceRequest, AppError> {
    serde_path_to_error::deserialize(record).map_err(|e| {
        let path = match e.path().to_string().as_str() {
            "." => format!("records[{index}]"),
            inner => format!("records[{index}].{inner}"),
        };
        super::problem::body_error(&path, e.inner())
    })
}

/// Take a service record back (cancelled, or found wrong): a reversing
/// transfer returns its points and its hours leave the tally. Refused when
/// the volunteer has spent the points (`insufficient_funds`) or it was taken
/// back before (`transfer_already_reversed`).
#[utoipa::path(
    post, path = "/v1/service-records/{id}/reverse", tag = "service",
    params(("id" = ServiceRecordId, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = ReverseServiceRequest,
    responses(
        (status = 200, description = "Reversed", body = ServiceRecordView),
        (status = 403, description = "Not a coordinator of where the service was done", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already reversed (`transfer_already_reversed`), or never credited: waiting for approval or rejected (`service_not_credited`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The points were spent (`insufficient_funds`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records/{id}/reverse")]
pub async fn reverse_service_record(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<ServiceRecordId>,
    body: JsonObject<ReverseServiceRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(changed(
        app.reverse_service_record(&caller, key.0.as_deref(), id.into_inner(), body.0)
            .await?,
    ))
}

/// Approve a service record that waits for a second person (over the
/// scheme's threshold of hours, or of night hours): it is credited as it was
/// priced when recorded, and the answer carries the volunteer's new balance.
/// The coordinator who recorded it cannot approve it (`own_record`).
#[utoipa::path(
    post, path = "/v1/service-records/{id}/approve", tag = "service",
    params(("id" = ServiceRecordId, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = ApproveServiceRequest,
    responses(
        (status = 200, description = "Approved and credited", body = ServiceReceipt),
        (status = 403, description = "You recorded it (`own_record`), or you do not coordinate where the service was done", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval (`not_pending_approval`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The volunteer is no longer active (`volunteer_inactive`), or the wallet cannot be credited", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records/{id}/approve")]
pub async fn approve_service_record(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<ServiceRecordId>,
    body: JsonObject<ApproveServiceRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(changed(
        app.approve_service_record(&caller, key.0.as_deref(), id.into_inner(), body.0)
            .await?,
    ))
}

/// Reject a service record that waits for a second person: it stays on
/// file, unpaid, with the reason, and no longer holds the volunteer's time.
#[utoipa::path(
    post, path = "/v1/service-records/{id}/reject", tag = "service",
    params(("id" = ServiceRecordId, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = RejectServiceRequest,
    responses(
        (status = 200, description = "Rejected", body = ServiceRecordView),
        (status = 403, description = "You recorded it (`own_record`), or you do not coordinate where the service was done", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for approval (`not_pending_approval`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/service-records/{id}/reject")]
pub async fn reject_service_record(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<ServiceRecordId>,
    body: JsonObject<RejectServiceRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(changed(
        app.reject_service_record(&caller, key.0.as_deref(), id.into_inner(), body.0)
            .await?,
    ))
}
