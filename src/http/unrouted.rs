//! Requests no route takes: an unknown path is 404 `not_found`, a documented
//! path asked with a method it does not answer is 405 `method_not_allowed`
//! with an `Allow` header. The documented paths come from the OpenAPI
//! document, so the answer follows the routes without a list of its own.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::openapi;
use crate::error::{AppError, ErrorCode};

/// One documented path: its segments (`None` where a parameter goes) and the
/// methods it answers.
struct Endpoint {
    segments: Vec<Option<String>>,
    methods: Vec<&'static str>,
}

impl Endpoint {
    fn parameters(&self) -> usize {
        self.segments.iter().filter(|s| s.is_none()).count()
    }

    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(expected, got)| expected.as_deref().is_none_or(|e| e == *got))
    }
}

fn endpoints() -> &'static [Endpoint] {
    static ENDPOINTS: OnceLock<Vec<Endpoint>> = OnceLock::new();
    ENDPOINTS.get_or_init(|| {
        openapi::document()
            .paths
            .paths
            .iter()
            .map(|(path, item)| Endpoint {
                segments: path
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect(),
                methods: [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, answered)| answered.then_some(method))
                .collect(),
            })
            .collect()
    })
}

/// The methods documented for `path`, if it is a documented path at all. As in
/// OpenAPI, a path spelled out wins over a template it also fits
/// (`/v1/service-records/batch` over `/v1/service-records/{id}`).
fn allowed_methods(path: &str) -> Option<Vec<&'static str>> {
    let segments: Vec<&str> = path.split('/').collect();
    let matching: Vec<&Endpoint> = endpoints()
        .iter()
        .filter(|e| e.matches(&segments))
        .collect();
    let fewest = matching.iter().map(|e| e.parameters()).min()?;
    let mut methods: Vec<&'static str> = matching
        .iter()
        .filter(|e| e.parameters() == fewest)
        .flat_map(|e| e.methods.iter().copied())
        .collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then_some(methods)
}

pub async fn unrouted(request: HttpRequest) -> HttpResponse {
    match allowed_methods(request.path()) {
        Some(methods) => method_not_allowed(&request, &methods),
        None => AppError::new(ErrorCode::NotFound, "no such endpoint").error_response(),
    }
}

/// The 405 for a documented path asked with a method it does not answer,
/// when a route with a parameter took the request (`GET
/// /v1/service-records/batch` reaches `GET /v1/service-records/{id}`).
pub fn wrong_method(request: &HttpRequest) -> Option<HttpResponse> {
    let methods = allowed_methods(request.path())?;
    (!methods.contains(&request.method().as_str())).then(|| method_not_allowed(request, &methods))
}

fn method_not_allowed(request: &HttpRequest, methods: &[&str]) -> HttpResponse {
    let allow = methods.join(", ");
    let mut response = AppError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not answered here; this path answers {allow}",
            request.method()
        ),
    )
    .error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    #[test]
    fn documented_paths_list_their_methods_and_others_are_unknown() {
        assert_eq!(allowed_methods("/v1/transfers"), Some(vec!["GET", "POST"]));
        assert_eq!(
            allowed_methods("/v1/transfers/0190c5a4-0000-7000-8000-000000000000/post"),
            Some(vec!["POST"])
        );
        // A path spelled out wins over the template it also fits.
        assert_eq!(
            allowed_methods("/v1/service-records/batch"),
            Some(vec!["POST"])
        );
        assert_eq!(
            allowed_methods("/v1/service-records/0190c5a4-0000-7000-8000-000000000000"),
            Some(vec!["GET"])
        );
        assert_eq!(allowed_methods("/v1/nothing"), None);
        assert_eq!(allowed_methods("/v1/transfers/a/b/c"), None);
    }
}
