//! `/v1/ledgers`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::ledgers::{CreateLedgerRequest, LedgerQuery, LedgerView};
use crate::app::page::Page;
use crate::app::verification::VerifyReport;
use crate::domain::LedgerId;
use crate::error::{AppError, Problem};

/// Create a ledger (a points scheme) with its issuance account.
#[utoipa::path(
    post, path = "/v1/ledgers", tag = "ledgers",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateLedgerRequest,
    responses(
        (status = 201, description = "Created", body = LedgerView, headers(("Location" = String))),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/ledgers")]
pub async fn create_ledger(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateLedgerRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_ledger(&caller, key.0.as_deref(), body.0).await?,
        |l| format!("/v1/ledgers/{}", l.id),
    ))
}

/// List ledgers.
#[utoipa::path(
    get, path = "/v1/ledgers", tag = "ledgers", params(LedgerQuery),
    responses((status = 200, description = "A page of ledgers", body = Page<LedgerView>)),
    security(("bearer" = []))
)]
#[get("/v1/ledgers")]
pub async fn list_ledgers(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<LedgerQuery>,
) -> Result<web::Json<Page<LedgerView>>, AppError> {
    Ok(web::Json(
        app.list_ledgers(&caller, query.into_inner()).await?,
    ))
}

/// One ledger, with the head of its hash chain.
#[utoipa::path(
    get, path = "/v1/ledgers/{id}", tag = "ledgers", params(("id" = LedgerId, Path)),
    responses(
        (status = 200, description = "The ledger", body = LedgerView),
        (status = 404, description = "No such ledger", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/ledgers/{id}")]
pub async fn get_ledger(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<LedgerId>,
) -> Result<web::Json<LedgerView>, AppError> {
    Ok(web::Json(app.get_ledger(&caller, id.into_inner()).await?))
}

/// Re-hash the ledger's chain and re-sum every account from the journal.
#[utoipa::path(
    get, path = "/v1/ledgers/{id}/verify", tag = "ledgers", params(("id" = LedgerId, Path)),
    responses(
        (status = 200, description = "The report; `ok` is false when anything is wrong", body = VerifyReport),
        (status = 404, description = "No such ledger", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/ledgers/{id}/verify")]
pub async fn verify_ledger(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<LedgerId>,
) -> Result<web::Json<VerifyReport>, AppError> {
    Ok(web::Json(
        app.verify_ledger(&caller, id.into_inner()).await?,
    ))
}
