//! `/v1/accounts`

use actix_web::{HttpResponse, get, post, web};

use super::extract::{Authenticated, IdempotencyKey, JsonObject, Query};
use super::respond::{changed, created};
use crate::app::App;
use crate::app::accounts::{
    AccountPostingView, AccountQuery, AccountView, BalanceQuery, BalanceView, OpenAccountRequest,
    PostingQuery, StatusChange,
};
use crate::app::page::Page;
use crate::domain::AccountId;
use crate::error::{AppError, Problem};

/// Open an account in a ledger.
#[utoipa::path(
    post, path = "/v1/accounts", tag = "accounts",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = OpenAccountRequest,
    responses(
        (status = 201, description = "Opened", body = AccountView, headers(("Location" = String))),
        (status = 400, description = "Invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/accounts")]
pub async fn open_account(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    body: JsonObject<OpenAccountRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(created(
        app.open_account(&caller, key.0.as_deref(), body.0).await?,
        |a| format!("/v1/accounts/{}", a.id),
    ))
}

/// List accounts.
#[utoipa::path(
    get, path = "/v1/accounts", tag = "accounts", params(AccountQuery),
    responses((status = 200, description = "A page of accounts", body = Page<AccountView>)),
    security(("bearer" = []))
)]
#[get("/v1/accounts")]
pub async fn list_accounts(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<AccountQuery>,
) -> Result<web::Json<Page<AccountView>>, AppError> {
    Ok(web::Json(
        app.list_accounts(&caller, query.into_inner()).await?,
    ))
}

/// One account with its balances: posted, pending and available.
#[utoipa::path(
    get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = AccountId, Path)),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/accounts/{id}")]
pub async fn get_account(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<AccountId>,
) -> Result<web::Json<AccountView>, AppError> {
    Ok(web::Json(app.get_account(&caller, id.into_inner()).await?))
}

/// The posted balance at a moment in the past (default: now).
#[utoipa::path(
    get, path = "/v1/accounts/{id}/balance", tag = "accounts",
    params(("id" = AccountId, Path), BalanceQuery),
    responses(
        (status = 200, description = "The balance", body = BalanceView),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/accounts/{id}/balance")]
pub async fn balance(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<AccountId>,
    query: Query<BalanceQuery>,
) -> Result<web::Json<BalanceView>, AppError> {
    Ok(web::Json(
        app.balance_as_of(&caller, id.into_inner(), query.into_inner())
            .await?,
    ))
}

/// The account's postings in order, each with the running balance after it.
#[utoipa::path(
    get, path = "/v1/accounts/{id}/postings", tag = "accounts",
    params(("id" = AccountId, Path), PostingQuery),
    responses(
        (status = 200, description = "A page of postings", body = Page<AccountPostingView>),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/accounts/{id}/postings")]
pub async fn postings(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    id: web::Path<AccountId>,
    query: Query<PostingQuery>,
) -> Result<web::Json<Page<AccountPostingView>>, AppError> {
    Ok(web::Json(
        app.account_postings(&caller, id.into_inner(), query.into_inner())
            .await?,
    ))
}

async fn change_status(
    app: web::Data<App>,
    caller: crate::app::caller::Caller,
    key: IdempotencyKey,
    id: AccountId,
    change: StatusChange,
) -> Result<HttpResponse, AppError> {
    Ok(changed(
        app.change_account_status(&caller, key.0.as_deref(), id, change)
            .await?,
    ))
}

/// Freeze an account: no transfer may touch it until it is unfrozen.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/freeze", tag = "accounts",
    params(("id" = AccountId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 200, description = "Frozen", body = AccountView),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/accounts/{id}/freeze")]
pub async fn freeze(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, AppError> {
    change_status(app, caller, key, id.into_inner(), StatusChange::Freeze).await
}

/// Unfreeze an account.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/unfreeze", tag = "accounts",
    params(("id" = AccountId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 200, description = "Open again", body = AccountView),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/accounts/{id}/unfreeze")]
pub async fn unfreeze(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, AppError> {
    change_status(app, caller, key, id.into_inner(), StatusChange::Unfreeze).await
}

/// Close an empty account for good.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/close", tag = "accounts",
    params(("id" = AccountId, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 200, description = "Closed", body = AccountView),
        (status = 409, description = "Still holds a balance or holds (`account_not_empty`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/accounts/{id}/close")]
pub async fn close(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    key: IdempotencyKey,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, AppError> {
    change_status(app, caller, key, id.into_inner(), StatusChange::Close).await
}
