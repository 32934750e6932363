//! `/v1/users` and `/v1/me`

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::created;
use crate::app::App;
use crate::app::page::Page;
use crate::app::users::{
    ChangePasswordRequest, CreateUserRequest, RoleRequest, UpdateSelfRequest, UpdateUserRequest,
    UserQuery, UserView,
};
use crate::app::volunteers::VolunteerView;
use crate::domain::{GrantId, UserId};
use crate::error::{AppError, Problem};

/// Create a user with one or more roles inside your admin scope.
#[utoipa::path(
    post, path = "/v1/users", tag = "users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserView, headers(("Location" = String))),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users")]
pub async fn create_user(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.create_user(&caller, key.0.as_deref(), body.0).await?,
        |u| format!("/v1/users/{}", u.id),
    ))
}

/// Users holding a role inside your scope (administrators and auditors).
#[utoipa::path(
    get, path = "/v1/users", tag = "users", params(UserQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/users")]
pub async fn list_users(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<UserQuery>,
) -> Result<web::Json<Page<UserView>>, AppError> {
    Ok(web::Json(
        app.list_users(&caller, query.into_inner()).await?,
    ))
}

/// One user.
#[utoipa::path(
    get, path = "/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/users/{id}")]
pub async fn get_user(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<UserId>,
) -> Result<web::Json<UserView>, AppError> {
    Ok(web::Json(app.get_user(&caller, id.into_inner()).await?))
}

/// Change a user: name, status (disabling ends their sessions at once),
/// password, identity provider subject.
#[utoipa::path(
    patch, path = "/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/users/{id}")]
pub async fn update_user(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<UserId>,
    body: JsonObject<UpdateUserRequest>,
) -> Result<web::Json<UserView>, AppError> {
    Ok(web::Json(
        app.update_user(&caller, id.into_inner(), body.0).await?,
    ))
}

/// Give a user a role in an organisation subtree.
#[utoipa::path(
    post, path = "/v1/users/{id}/roles", tag = "users", params(("id" = UserId, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = RoleRequest,
    responses(
        (status = 201, description = "Granted", body = UserView, headers(("Location" = String))),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/users/{id}/roles")]
pub async fn grant_role(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<UserId>,
    body: JsonObject<RoleRequest>,
) -> Result<HttpResponse, AppError> {
    let answer = app
        .grant_role(&caller, key.0.as_deref(), id.into_inner(), body.0)
        .await?;
    // A record kept before grants were named in it points at the user.
    let grant = answer.outcome.as_ref().ok().and_then(|g| g.grant);
    Ok(created(answer.map(|g| g.user), |u| match grant {
        Some(grant) => format!("/v1/users/{}/roles/{grant}", u.id),
        None => format!("/v1/users/{}", u.id),
    }))
}

/// Take a role away.
#[utoipa::path(
    delete, path = "/v1/users/{id}/roles/{grant_id}", tag = "users",
    params(("id" = UserId, Path), ("grant_id" = GrantId, Path)),
    responses(
        (status = 200, description = "Revoked", body = UserView),
        (status = 404, description = "Not found in your scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/v1/users/{id}/roles/{grant_id}")]
pub async fn revoke_role(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    path: web::Path<(UserId, GrantId)>,
) -> Result<web::Json<UserView>, AppError> {
    let (id, grant) = path.into_inner();
    Ok(web::Json(app.revoke_role(&caller, id, grant).await?))
}

/// The caller, their roles and, for a volunteer, their registration and wallet.
#[derive(Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "user": {
        "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d07",
        "username": "zhang.min",
        "display_name": "Zhang Min",
        "status": "active",
        "external_subject": null,
        "roles": [
            {
                "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d09",
                "role": "coordinator",
                "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
            }
        ],
        "created_at": "2026-03-14T09:30:00Z",
        "updated_at": "2026-03-14T09:30:00Z"
    },
    "volunteer": null
})))]
pub struct MeView {
    /// You, with the roles you hold now.
    pub user: UserView,
    /// Your volunteer registration and wallet, if you are a volunteer.
    pub volunteer: Option<VolunteerView>,
}

/// Who you are.
#[utoipa::path(
    get, path = "/v1/me", tag = "users",
    responses((status = 200, description = "You", body = MeView)),
    security(("bearer" = []))
)]
#[get("/v1/me")]
pub async fn me(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
) -> Result<web::Json<MeView>, AppError> {
    Ok(web::Json(MeView {
        user: app.get_user(&caller, caller.user_id).await?,
        volunteer: app.own_volunteer(&caller).await?,
    }))
}

/// Change what is yours to change: display name, leaderboard consent. Roles,
/// organisations and status are refused here.
#[utoipa::path(
    patch, path = "/v1/me", tag = "users",
    request_body = UpdateSelfRequest,
    responses(
        (status = 200, description = "Changed", body = MeView),
        (status = 400, description = "Unknown or forbidden field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/v1/me")]
pub async fn update_me(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    body: JsonObject<UpdateSelfRequest>,
) -> Result<web::Json<MeView>, AppError> {
    let request = body.0;
    app.update_self(&caller, &request).await?;
    Ok(web::Json(MeView {
        user: app.get_user(&caller, caller.user_id).await?,
        volunteer: app.own_volunteer(&caller).await?,
    }))
}

/// Change your password; your other sessions end.
#[utoipa::path(
    post, path = "/v1/me/password", tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Too short", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Current password wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/me/password")]
pub async fn change_password(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    body: JsonObject<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    app.change_own_password(&caller, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
