//! Turns an answer of a state-changing request, fresh or replayed, into the
//! HTTP response. The status, headers and body come from the typed outcome
//! alone, so a replay renders the same bytes as the first answer.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::request_log::RefusalCode;
use crate::app::answer::Answer;
use crate::error::AppError;

/// 201 with the new resource's address, or the kept refusal.
pub fn created<O: Serialize>(
    answer: Answer<O>,
    location: impl FnOnce(&O) -> String,
) -> HttpResponse {
    render(answer, StatusCode::CREATED, |o| Some(location(o)))
}

/// 200 with a resource made before (a client's own id named it again) and
/// its address, or the kept refusal.
pub fn found<O: Serialize>(answer: Answer<O>, location: impl FnOnce(&O) -> String) -> HttpResponse {
    render(answer, StatusCode::OK, |o| Some(location(o)))
}

/// 200 with the changed resource, or the kept refusal.
pub fn changed<O: Serialize>(answer: Answer<O>) -> HttpResponse {
    render(answer, StatusCode::OK, |_| None)
}

fn render<O: Serialize>(
    answer: Answer<O>,
    status: StatusCode,
    location: impl FnOnce(&O) -> Option<String>,
) -> HttpResponse {
    let mut response = match &answer.outcome {
        Ok(outcome) => match serde_json::to_string(outcome) {
            Ok(body) => {
                let mut response = HttpResponse::build(status);
                response.insert_header((header::CONTENT_TYPE, "application/json"));
                if let Some(location) = location(outcome) {
                    response.insert_header((header::LOCATION, location));
                }
                response.body(body)
            }
            Err(e) => AppError::internal(e).error_response(),
        },
        Err(refusal) => refused(refusal),
    };
    if answer.replayed {
        response.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderValue::from_static("true"),
        );
    }
    response
}

/// A refusal kept under the key: the problem, and its code for the request
/// log and metrics (the middleware sees a response, not the error).
fn refused(refusal: &AppError) -> HttpResponse {
    let mut response = refusal.error_response();
    response
        .extensions_mut()
        .insert(RefusalCode(refusal.code.as_str().to_string()));
    response
}
