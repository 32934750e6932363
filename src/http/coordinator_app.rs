//! The coordinator's web app at `/app/`: plain HTML, CSS and JavaScript
//! embedded in the binary, so it needs nothing from the internet and works
//! offline once its service worker has kept it. Not part of the JSON API, so
//! not in the OpenAPI document.

use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError, get, web};

use crate::error::{AppError, ErrorCode};

/// Only the app's own files and same-origin API calls; no inline script or
/// style, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file: its name under `/app/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("pages/app/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("pages/app/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("pages/app/app.css"),
    },
    Asset {
        name: "sw.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("pages/app/sw.js"),
    },
    Asset {
        name: "manifest.webmanifest",
        content_type: "application/manifest+json",
        body: include_bytes!("pages/app/manifest.webmanifest"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("pages/app/icon.svg"),
    },
];

fn serve(name: &str) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return AppError::new(ErrorCode::NotFound, "no such endpoint").error_response();
    };
    // The page and the worker are checked on every load, so a new release
    // reaches phones at once; the worker keeps copies for offline use.
    let cache = match name {
        "index.html" | "sw.js" => "no-cache",
        _ => "public, max-age=300",
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(asset.body)
}

/// The app's page.
#[get("/app/")]
pub async fn index() -> HttpResponse {
    serve("index.html")
}

/// The app's other files; any other name is the API's problem+json 404.
#[get("/app/{file}")]
pub async fn file(name: web::Path<String>) -> HttpResponse {
    serve(&name)
}
