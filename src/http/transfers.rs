//! `/v1/transfers`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query, optional_json};
use super::respond::created;
use crate::app::App;
use crate::app::page::Page;
use crate::app::transfer_view::TransferView;
use crate::app::transfers::{CreateTransferRequest, SettleRequest, Settlement, TransferQuery};
use crate::domain::TransferId;
use crate::error::{AppError, Problem};

/// Record a transfer: two or more postings on one ledger, debits equal to
/// credits. Requires an `Idempotency-Key`: a retry with the same key and body
/// replays the first answer (`Idempotent-Replayed: true`).
#[utoipa::path(
    post, path = "/v1/transfers", tag = "transfers",
    params(("Idempotency-Key" = String, Header, description = "Required; one per new transfer, the same on retries")),
    request_body = CreateTransferRequest,
    responses(
        (status = 201, description = "Recorded", body = TransferView, headers(("Location" = String))),
        (status = 400, description = "Invalid request (`validation_failed`), amount (`invalid_amount`) or missing key (`idempotency_key_missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same key still in flight (`idempotency_key_in_flight`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused by the ledger (`insufficient_funds`, `unbalanced_transfer`, `account_not_found`, `account_frozen`, `account_closed`, `same_account`, `ledger_mismatch`, `balance_out_of_range`) or key reused (`idempotency_key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/transfers")]
pub async fn create_transfer(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateTransferRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_transfer(&caller, key.0.as_deref(), body.0)
            .await?,
        |t| format!("/v1/transfers/{}", t.id),
    ))
}

/// List transfers, oldest first.
///
/// Oldest means committed first: a transfer committed after a page was read
/// always comes after that page's `next_cursor`. (With several servers on one
/// PostgreSQL database, transfers committed by different servers within the
/// same millisecond may be listed in either order.)
#[utoipa::path(
    get, path = "/v1/transfers", tag = "transfers", params(TransferQuery),
    responses((status = 200, description = "A page of transfers", body = Page<TransferView>)),
    security(("bearer" = []))
)]
#[get("/v1/transfers")]
pub async fn list_transfers(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<TransferQuery>,
) -> Result<web::Json<Page<TransferView>>, AppError> {
    Ok(web::Json(
        app.list_transfers(&caller, query.into_inner()).await?,
    ))
}

/// One transfer with its postings and status.
#[utoipa::path(
    get, path = "/v1/transfers/{id}", tag = "transfers", params(("id" = TransferId, Path)),
    responses(
        (status = 200, description = "The transfer", body = TransferView),
        (status = 404, description = "No such transfer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/transfers/{id}")]
pub async fn get_transfer(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<TransferId>,
) -> Result<web::Json<TransferView>, AppError> {
    Ok(web::Json(app.get_transfer(&caller, id.into_inner()).await?))
}

async fn settle(
    app: web::Data<App>,
    caller: crate::app::caller::Caller,
    key: IdempotencyKey,
    id: TransferId,
    action: Settlement,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    let request: SettleRequest = optional_json(body)?;
    Ok(created(
        app.settle_transfer(&caller, key.0.as_deref(), id, action, request)
            .await?,
        |t| format!("/v1/transfers/{}", t.id),
    ))
}

/// Post (capture) a pending hold: its amounts move from pending to posted.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/post", tag = "transfers",
    params(("id" = TransferId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content = Option<SettleRequest>, description = "Optional note"),
    responses(
        (status = 201, description = "The posting transfer", body = TransferView, headers(("Location" = String))),
        (status = 404, description = "No such transfer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a pending hold (`transfer_not_pending`), expired (`pending_transfer_expired`), or the same key still in flight (`idempotency_key_in_flight`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/transfers/{id}/post")]
pub async fn post_pending(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<TransferId>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    settle(app, caller, key, id.into_inner(), Settlement::Post, body).await
}

/// Void a pending hold: its amounts are released, no balance moves.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/void", tag = "transfers",
    params(("id" = TransferId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content = Option<SettleRequest>, description = "Optional note"),
    responses(
        (status = 201, description = "The voiding transfer", body = TransferView, headers(("Location" = String))),
        (status = 404, description = "No such transfer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a pending hold (`transfer_not_pending`), or the same key still in flight (`idempotency_key_in_flight`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/transfers/{id}/void")]
pub async fn void_pending(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<TransferId>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    settle(app, caller, key, id.into_inner(), Settlement::Void, body).await
}

/// Reverse a posted transfer with a linked transfer of opposite postings.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/reverse", tag = "transfers",
    params(("id" = TransferId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content = Option<SettleRequest>, description = "Optional reason"),
    responses(
        (status = 201, description = "The reversing transfer", body = TransferView, headers(("Location" = String))),
        (status = 404, description = "No such transfer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already reversed (`transfer_already_reversed`), not reversible (`transfer_not_reversible`), or the same key still in flight (`idempotency_key_in_flight`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The reversal would overdraw an account (`insufficient_funds`), or key reused (`idempotency_key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/transfers/{id}/reverse")]
pub async fn reverse(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<TransferId>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    settle(app, caller, key, id.into_inner(), Settlement::Reverse, body).await
}
