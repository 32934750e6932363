//! Renders every refusal as RFC 9457 `application/problem+json`, including the
//! ones actix-web produces itself (bad JSON, oversized bodies, bad paths).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::domain::amount::AMOUNT_ERROR_PREFIX;
use crate::error::{AppError, ErrorCode, FieldError};

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if self.code.status() == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// A JSON body that did not parse or did not fit.
pub fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let app_error = match &err {
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        ),
        E::ContentType => AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ),
        E::Deserialize(e) => body_error(&e.to_string()),
        E::Payload(e) => payload_error(e),
        other => AppError::invalid_field("body", other.to_string()),
    };
    app_error.into()
}

/// A body that could not be read: too large, or cut off.
pub fn payload_error(err: &actix_web::error::PayloadError) -> AppError {
    match err {
        actix_web::error::PayloadError::Overflow => {
            AppError::new(ErrorCode::PayloadTooLarge, "the body is too large")
        }
        other => AppError::invalid_field("body", format!("could not be read: {other}")),
    }
}

/// Classifies a serde message: amount problems get their own code.
pub fn body_error(message: &str) -> AppError {
    let code = if message.contains(AMOUNT_ERROR_PREFIX) {
        ErrorCode::InvalidAmount
    } else {
        ErrorCode::ValidationFailed
    };
    AppError {
        errors: vec![FieldError {
            field: "body".into(),
            message: message.to_string(),
        }],
        ..AppError::new(code, format!("the request body is not valid: {message}"))
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    AppError::invalid_field("query", err.to_string()).into()
}

/// A path that does not parse (e.g. not a UUID) names nothing that exists.
pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::new(ErrorCode::NotFound, format!("no such resource: {err}")).into()
}
