//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::app::App;
use crate::error::{AppError, Problem};

/// The process is up.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", content_type = "application/json", example = json!({"status": "ok"}))),
    security(())
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database is reachable and its schema is current.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", content_type = "application/json", example = json!({"status": "ready"})),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(app: web::Data<App>) -> Result<HttpResponse, AppError> {
    app.ready().await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
