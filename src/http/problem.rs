//! Renders every refusal as RFC 9457 `application/problem+json`, including the
//! ones actix-web produces itself (bad JSON, oversized bodies, bad paths).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::domain::amount::AMOUNT_ERROR_PREFIX;
use crate::error::{AppError, ErrorCode};

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
        E::Deserialize(e) => body_error("", e),
        E::Payload(e) => payload_error(e),
        other => {
            tracing::debug!(error = %other, "unreadable body");
            AppError::invalid_field("body", "could not be read")
        }
    };
    app_error.into()
}

/// A body that could not be read: too large, or cut off.
pub fn payload_error(err: &actix_web::error::PayloadError) -> AppError {
    match err {
        actix_web::error::PayloadError::Overflow => {
            AppError::new(ErrorCode::PayloadTooLarge, "the body is too large")
        }
        other => {
            tracing::debug!(error = %other, "unreadable body");
            AppError::invalid_field("body", "could not be read (cut off or badly encoded)")
        }
    }
}

/// A body that is not JSON, or a field in it that does not parse. `path` is
/// where serde stopped (`postings[0].amount`); serde_json's position suffix
/// (`at line 1 column N`) is dropped: the field name says more.
pub fn body_error(path: &str, err: &serde_json::Error) -> AppError {
    let text = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    if err.is_eof() {
        return AppError::invalid_field("body", "is not valid JSON: it ends too soon");
    }
    if err.is_syntax() {
        return AppError::invalid_field(
            "body",
            format!(
                "is not valid JSON (near line {}, character {})",
                err.line(),
                err.column()
            ),
        );
    }
    unparsed("body", path, message)
}

/// A query parameter that does not parse.
pub fn query_error(path: &str, err: &serde_urlencoded::de::Error) -> AppError {
    unparsed("query", path, &err.to_string())
}

/// A field that did not parse: named by its real name, with a message a
/// person can act on; amount problems get their own code.
fn unparsed(whole: &str, path: &str, message: &str) -> AppError {
    // serde names a missing or unknown field in its message; the path is its
    // parent's for a missing one, its own for an unknown one.
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let field = match (path, named) {
        (_, Some(name)) if path.is_empty() || path == "." => name.to_string(),
        (_, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.into(),
        (_, Some(name)) => format!("{path}.{name}"),
        ("" | ".", None) => whole.to_string(),
        (path, None) => path.to_string(),
    };
    let message = human(message);
    let code = if message.contains(AMOUNT_ERROR_PREFIX) {
        ErrorCode::InvalidAmount
    } else {
        ErrorCode::ValidationFailed
    };
    AppError {
        code,
        ..AppError::invalid_field(field, message)
    }
}

/// Parser messages that name a library's internals, said in words.
fn human(message: &str) -> String {
    // chrono's parse errors, for a time that is not RFC 3339.
    const TIME: &[&str] = &[
        "premature end of input",
        "input contains invalid characters",
        "trailing input",
        "input is out of range",
        "input is not enough for unique date and time",
        "no possible date and time matching input",
        "bad or unsupported format string",
    ];
    // core's integer parse errors.
    const WHOLE_NUMBER: &[&str] = &[
        "invalid digit found in string",
        "cannot parse integer from empty string",
        "number too large to fit in target type",
        "number too small to fit in target type",
    ];
    if TIME.contains(&message) {
        "must be an RFC 3339 date and time with a zone, such as 2026-01-01T09:30:00Z".into()
    } else if WHOLE_NUMBER.contains(&message) {
        "must be a whole number".into()
    } else if message.starts_with("UUID parsing failed") {
        "must be an id (a UUID such as 0192f0c4-8a3e-7c2b-9f1d-3b5e7a9c1d2f)".into()
    } else {
        message.to_string()
    }
}

/// A path that does not parse names nothing that exists: every path
/// parameter is an id.
pub fn path_error(err: actix_web::error::PathError, request: &HttpRequest) -> actix_web::Error {
    if let Some(response) = super::unrouted::wrong_method(request) {
        return actix_web::error::InternalError::from_response(err, response).into();
    }
    tracing::debug!(error = %err, "unparsable path");
    AppError::new(
        ErrorCode::NotFound,
        "no such resource: the id in the path is not a UUID",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> AppError {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Leg {
            amount: crate::domain::Amount,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            postings: Vec<Leg>,
            at: Option<chrono::DateTime<chrono::Utc>>,
        }
        let mut de = serde_json::Deserializer::from_str(body);
        let err = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        body_error(&err.path().to_string(), err.inner())
    }

    #[test]
    fn errors_name_the_real_field_without_parser_internals() {
        let cases = [
            (
                r#"{"postings":[{"amount":"-5.00"}]}"#,
                "postings[0].amount",
                "greater than zero",
            ),
            (
                r#"{"postings":[{"amount":5}]}"#,
                "postings[0].amount",
                "decimal string",
            ),
            (
                r#"{"postings":[{}]}"#,
                "postings[0].amount",
                "missing field",
            ),
            (r#"{"postings":[],"x":1}"#, "x", "unknown field"),
            (r#"{"postings":[],"at":"2026-01-01"}"#, "at", "RFC 3339"),
            (r#"{"postings":[}"#, "body", "not valid JSON"),
        ];
        for (body, field, words) in cases {
            let err = parse(body);
            assert_eq!(err.errors[0].field, field, "{body}: {err:?}");
            assert!(err.errors[0].message.contains(words), "{body}: {err:?}");
            assert!(!err.detail.contains("at line"), "{body}: {err:?}");
        }
    }
}
