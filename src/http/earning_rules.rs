//! `/v1/earning-rules`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::earning_rules::{CreateEarningRuleRequest, EarningRuleQuery, EarningRuleView};
use crate::app::page::Page;
use crate::error::{AppError, Problem};

/// Add a version of a ledger's earning rule for a category (or its general
/// rule). It prices service from `effective_from` on; the past keeps the
/// version it was priced by.
#[utoipa::path(
    post, path = "/v1/earning-rules", tag = "service",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateEarningRuleRequest,
    responses(
        (status = 201, description = "The new version", body = EarningRuleView, headers(("Location" = String))),
        (status = 400, description = "Invalid, or starting in the past", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/earning-rules")]
pub async fn create_earning_rule(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateEarningRuleRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_earning_rule(&caller, key.0.as_deref(), body.0)
            .await?,
        |r| format!("/v1/earning-rules?ledger_id={}", r.ledger_id),
    ))
}

/// Every version of a ledger's earning rules.
#[utoipa::path(
    get, path = "/v1/earning-rules", tag = "service", params(EarningRuleQuery),
    responses(
        (status = 200, description = "A page of rule versions", body = Page<EarningRuleView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ledger in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/earning-rules")]
pub async fn list_earning_rules(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<EarningRuleQuery>,
) -> Result<web::Json<Page<EarningRuleView>>, AppError> {
    Ok(web::Json(
        app.list_earning_rules(&caller, query.into_inner()).await?,
    ))
}
