//! Per request: a request id, metrics, and one log event when it went wrong
//! (5xx at ERROR, 4xx at WARN, the rest at DEBUG: `TIMEBANK_LOG=debug` turns
//! them into an access log).
//!
//! The id is the caller's `X-Request-Id` when it is short visible ASCII, else a
//! fresh UUID v7; it is echoed in the response. Every event logged while the
//! request runs carries it through one span with that single field: the
//! previous per-request spans (tracing-actix-web) rendered a dozen fields on
//! every request and cost more CPU than the handler's own JSON.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use crate::error::AppError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The problem `code` of a refusal rendered from a stored answer, kept in the
/// response's extensions.
pub struct RefusalCode(pub String);

/// Longest caller-supplied `X-Request-Id` kept; a longer one is replaced.
const MAX_REQUEST_ID: usize = 64;

/// The caller's id if it is safe to log and echo, else a new one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|v| is_valid_request_id(v.as_bytes()))
        .cloned()
        .or_else(|| HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).ok())
        .unwrap_or_else(|| HeaderValue::from_static("-"))
}

fn is_valid_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    // Valid ids are visible ASCII, so this never falls back.
    let span = tracing::error_span!("request", request_id = id.to_str().unwrap_or("-"));
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    res.headers_mut().insert(REQUEST_ID, id);
    record(&res, elapsed, &span);
    Ok(res)
}

/// Metrics for every request; a log event for those wanted at the level set.
fn record<B>(res: &ServiceResponse<B>, elapsed: Duration, span: &tracing::Span) {
    let status = res.status();
    let request = res.request();
    let method = request.method().as_str();
    let route = request.match_pattern();
    crate::metrics::observe_request(
        method,
        route.as_deref().unwrap_or("unmatched"),
        status.as_str(),
        elapsed,
    );
    let app_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>());
    let stored = res.response().extensions();
    let code = match (app_error, stored.get::<RefusalCode>()) {
        (Some(e), _) => e.code.as_str(),
        (None, Some(stored)) => stored.0.as_str(),
        (None, None) => "",
    };
    if !code.is_empty() {
        crate::metrics::observe_refusal(code);
    }
    let status = status.as_u16();
    let wanted = match status {
        500.. => tracing::enabled!(tracing::Level::ERROR),
        400..500 => tracing::enabled!(tracing::Level::WARN),
        _ => tracing::enabled!(tracing::Level::DEBUG),
    };
    if !wanted {
        return;
    }
    let _in_request = span.enter();
    let micros = elapsed.as_micros() as u64;
    let path = request.path();
    let client = request
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
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
            "request refused"
        ),
        _ => tracing::debug!(method, path, status, micros, client, "request"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_request_id;

    #[test]
    fn request_ids_are_short_visible_ascii() {
        assert!(is_valid_request_id(b"0190c5a4-abc_DEF.1"));
        assert!(!is_valid_request_id(b""));
        assert!(!is_valid_request_id(b"has space"));
        assert!(!is_valid_request_id("caf\u{e9}".as_bytes()));
        assert!(!is_valid_request_id(&[b'a'; 65]));
        assert!(is_valid_request_id(&[b'a'; 64]));
    }
}
