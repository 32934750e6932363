//! Swagger UI at `/docs/`, vendored. Its page is served here rather than by
//! `SwaggerUi` only to give the browser tab the service's name.

use std::sync::Arc;

use actix_web::{HttpResponse, ResponseError, get};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::openapi;
use crate::error::AppError;

pub const SPEC_URL: &str = "/openapi.json";
const TITLE: &str = "timebank API";

/// Swagger UI's files and the spec it reads.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url(SPEC_URL, openapi::document())
}

/// Swagger UI's page, titled.
#[get("/docs/")]
pub async fn index() -> HttpResponse {
    match utoipa_swagger_ui::serve("index.html", Arc::new(Config::new([SPEC_URL]))) {
        Ok(Some(page)) if !page.gzpipped => {
            let html = String::from_utf8_lossy(&page.bytes).replace(
                "<title>Swagger UI</title>",
                &format!("<title>{TITLE}</title>"),
            );
            HttpResponse::Ok()
                .content_type(page.content_type)
                .body(html)
        }
        // A build of Swagger UI whose page cannot be edited: serve it untitled.
        Ok(Some(page)) => HttpResponse::Ok()
            .content_type(page.content_type)
            .insert_header(("content-encoding", "gzip"))
            .body(page.bytes.into_owned()),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => AppError::internal(e).error_response(),
    }
}
