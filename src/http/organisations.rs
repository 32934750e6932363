//! `/v1/organisations`

use actix_web::{HttpResponse, get, patch, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::organisations::{
    CreateOrganisationRequest, OrganisationQuery, OrganisationView, UpdateOrganisationRequest,
};
use crate::app::page::Page;
use crate::domain::OrganisationId;
use crate::error::{AppError, Problem};

/// Create an organisation under one inside your admin scope.
#[utoipa::path(
    post, path = "/v1/organisations", tag = "organisations",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateOrganisationRequest,
    responses(
        (status = 201, description = "Created", body = OrganisationView, headers(("Location" = String))),
        (status = 400, description = "Invalid, or the parent is outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/organisations")]
pub async fn create_organisation(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateOrganisationRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_organisation(&caller, key.0.as_deref(), body.0)
            .await?,
        |o| format!("/v1/organisations/{}", o.id),
    ))
}

/// The organisations inside your scope.
#[utoipa::path(
    get, path = "/v1/organisations", tag = "organisations", params(OrganisationQuery),
    responses((status = 200, description = "A page of organisations", body = Page<OrganisationView>)),
    security(("bearer" = []))
)]
#[get("/v1/organisations")]
pub async fn list_organisations(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<OrganisationQuery>,
) -> Result<web::Json<Page<OrganisationView>>, AppError> {
    Ok(web::Json(
        app.list_organisations(&caller, query.into_inner()).await?,
    ))
}

/// One organisation.
#[utoipa::path(
    get, path = "/v1/organisations/{id}", tag = "organisations", params(("id" = OrganisationId, Path)),
    responses(
        (status = 200, description = "The organisation", body = OrganisationView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/organisations/{id}")]
pub async fn get_organisation(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<OrganisationId>,
) -> Result<web::Json<OrganisationView>, AppError> {
    Ok(web::Json(
        app.get_organisation(&caller, id.into_inner()).await?,
    ))
}

/// Rename an organisation or move it (with its subtree) under another; both
/// are audited.
#[utoipa::path(
    patch, path = "/v1/organisations/{id}", tag = "organisations", params(("id" = OrganisationId, Path)),
    request_body = UpdateOrganisationRequest,
    responses(
        (status = 200, description = "Changed", body = OrganisationView),
        (status = 400, description = "Invalid move", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/organisations/{id}")]
pub async fn update_organisation(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<OrganisationId>,
    body: JsonObject<UpdateOrganisationRequest>,
) -> Result<web::Json<OrganisationView>, AppError> {
    Ok(web::Json(
        app.update_organisation(&caller, id.into_inner(), body.0)
            .await?,
    ))
}
