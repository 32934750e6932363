//! `GET /metrics`: the process's metrics for Prometheus to scrape.

use actix_web::{HttpResponse, get};

use crate::error::AppError;

/// Prometheus metrics in its text format: requests by route and status with
/// latency, refusals by `code`, the writer's batches and commits, the pool.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4",
        example = "# HELP timebank_http_refusals_total Problem answers (4xx and 5xx) by their problem code.\n# TYPE timebank_http_refusals_total counter\ntimebank_http_refusals_total{code=\"insufficient_funds\"} 3\n")),
    security(())
)]
#[get("/metrics")]
pub async fn metrics() -> Result<HttpResponse, AppError> {
    let text = crate::metrics::render().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text))
}
