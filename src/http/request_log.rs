//! One log event per request that went wrong: 5xx at ERROR, 4xx at WARN, the
//! rest at DEBUG (`TIMEBANK_LOG=debug` turns them into an access log).
//!
//! No span is opened per request: a formatting subscriber renders every span's
//! fields when it opens, which on the transfer path cost more CPU than the
//! handler's own JSON. Events say which request they belong to instead.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::AppError;

/// Longest caller-supplied `X-Request-Id` that is logged; longer ones are cut.
const MAX_REQUEST_ID: usize = 64;

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let wanted = match status {
        500.. => tracing::enabled!(tracing::Level::ERROR),
        400..500 => tracing::enabled!(tracing::Level::WARN),
        _ => tracing::enabled!(tracing::Level::DEBUG),
    };
    if !wanted {
        return Ok(res);
    }
    let request = res.request();
    let micros = started.elapsed().as_micros() as u64;
    let method = request.method().as_str();
    let path = request.path();
    let client = request
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let request_id: String = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_REQUEST_ID).collect())
        .unwrap_or_default();
    let app_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>());
    let code = app_error.map_or("", |e| e.code.as_str());
    let detail = app_error.map_or("", |e| e.detail.as_str());
    match status {
        500.. => tracing::error!(
            method,
            path,
            status,
            code,
            detail,
            micros,
            client,
            request_id,
            "request failed"
        ),
        400..500 => tracing::warn!(
            method,
            path,
            status,
            code,
            detail,
            micros,
            client,
            request_id,
            "request refused"
        ),
        _ => tracing::debug!(method, path, status, micros, client, request_id, "request"),
    }
    Ok(res)
}
