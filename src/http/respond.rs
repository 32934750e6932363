//! Turns a stored (or fresh) answer into the HTTP response.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;

use super::problem::PROBLEM_JSON;
use super::request_log::RefusalCode;
use crate::app::idempotency::StoredResponse;

pub fn stored(answer: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    let content_type = if answer.is_refusal() {
        PROBLEM_JSON
    } else {
        "application/json"
    };
    response.insert_header((header::CONTENT_TYPE, content_type));
    if let Some(location) = &answer.location {
        response.insert_header((header::LOCATION, location.as_str()));
    }
    if answer.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    let code = answer.is_refusal().then(|| refusal_code(&answer.body));
    let mut response = response.body(answer.body);
    if let Some(code) = code {
        response.extensions_mut().insert(code);
    }
    response
}

/// The `code` of a stored problem, for the request log and metrics (a fresh
/// refusal carries its `AppError`; a stored one only its rendering).
fn refusal_code(body: &str) -> RefusalCode {
    #[derive(serde::Deserialize)]
    struct Coded {
        code: String,
    }
    RefusalCode(serde_json::from_str::<Coded>(body).map_or_else(|_| String::new(), |p| p.code))
}
