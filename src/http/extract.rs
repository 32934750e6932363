//! Request parts every handler needs: the authenticated caller, the
//! idempotency key and the JSON body.

use std::future::{Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::app::App;
use crate::app::caller::Caller;
use crate::error::AppError;

/// The caller proven by `Authorization: Bearer <token>`.
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = bearer(req);
        Box::pin(async move {
            let (app, token) = found?;
            app.authenticate(&token).await.map(Authenticated)
        })
    }
}

/// The application and the bearer token of the request.
fn bearer(req: &HttpRequest) -> Result<(web::Data<App>, String), AppError> {
    let app = req
        .app_data::<web::Data<App>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("send Authorization: Bearer <access token>"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::unauthorized("the Authorization header must be Bearer <token>"))?;
    Ok((app, token.to_string()))
}

/// The client's address as the socket sees it. Behind a proxy every client
/// shares the proxy's address; per-user limits still apply.
pub fn client_address(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The `Idempotency-Key` header, when sent.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match req.headers().get("Idempotency-Key") {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.to_string()))
                .map_err(|_| AppError::invalid_field("Idempotency-Key", "must be visible ASCII")),
        };
        ready(key.map(IdempotencyKey))
    }
}

/// A JSON object body. `web::Json` alone would also read a struct from an
/// array of its fields' values (`[null, null]`), which no client means to send;
/// size and content type are checked as for `web::Json`.
pub struct JsonObject<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = raw.await?.into_inner();
            Ok(JsonObject(from_object(raw.get().as_bytes())?))
        })
    }
}

/// Reads `T` from a body that must be one JSON object.
pub fn from_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::invalid_field("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| super::problem::body_error(&e.path().to_string(), e.inner()))?;
    de.end().map_err(|e| super::problem::body_error("", &e))?;
    Ok(value)
}

/// Query parameters, as `web::Query` reads them, but a refusal names the
/// parameter that did not parse.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        let parsed = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(Query)
            .map_err(|e| super::problem::query_error(&e.path().to_string(), e.inner()));
        ready(parsed)
    }
}

/// A JSON body that may be absent (an empty body or `null` reads as the default). Takes
/// the extraction result so an oversized body is refused as problem+json too.
pub fn optional_json<T: DeserializeOwned + Default>(
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<T, AppError> {
    let body = body.map_err(|e| match e.as_error::<actix_web::error::PayloadError>() {
        Some(payload) => super::problem::payload_error(payload),
        None => {
            tracing::debug!(error = %e, "unreadable body");
            AppError::invalid_field("body", "could not be read")
        }
    })?;
    // No body, or a JSON `null`, means the defaults.
    if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
        return Ok(T::default());
    }
    from_object(&body)
}
