//! The OpenAPI document, generated from the real handlers.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::response::{Response, Responses};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::app::idempotency::MAX_KEY_LEN;
use crate::app::page::{DEFAULT_LIMIT, MAX_LIMIT};

use super::{
    accounts, audit_log, auth, health, ledgers, metrics, organisations, transfers, users,
    volunteers,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "timebank",
        description = "Double-entry ledger for volunteer time banks: hours earn points, points buy goods and services at partner sites. Amounts are decimal strings in the ledger's scale; refusals are RFC 9457 problem+json with a stable `code`.",
        license(name = "MIT"),
    ),
    paths(
        auth::token, auth::refresh, auth::logout,
        organisations::create_organisation, organisations::list_organisations,
        organisations::get_organisation, organisations::update_organisation,
        users::create_user, users::list_users, users::get_user, users::update_user,
        users::grant_role, users::revoke_role, users::me, users::update_me, users::change_password,
        volunteers::create_volunteer, volunteers::list_volunteers, volunteers::get_volunteer,
        volunteers::update_volunteer,
        audit_log::audit_log,
        ledgers::create_ledger, ledgers::list_ledgers, ledgers::get_ledger, ledgers::verify_ledger,
        accounts::open_account, accounts::list_accounts, accounts::get_account, accounts::balance,
        accounts::postings, accounts::freeze, accounts::unfreeze, accounts::close,
        transfers::create_transfer, transfers::list_transfers, transfers::get_transfer,
        transfers::post_pending, transfers::void_pending, transfers::reverse,
        health::healthz, health::readyz, metrics::metrics,
    ),
    modifiers(&BearerAuth, &CommonAnswers),
    tags(
        (name = "auth", description = "Log in, refresh, log out"),
        (name = "organisations", description = "The organisation tree every role is scoped to"),
        (name = "users", description = "People who log in, their roles, and yourself"),
        (name = "volunteers", description = "Registered volunteers and their wallets"),
        (name = "audit", description = "Every change outside the ledger"),
        (name = "ledgers", description = "Points schemes and their integrity"),
        (name = "accounts", description = "Wallets, partner and system accounts"),
        (name = "transfers", description = "The journal: transfers, holds, reversals"),
        (name = "operations", description = "Probes and metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme once; operations refer to it by name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Refusals any operation can give, declared where its handler does not list
/// them itself, and the bounds of every page size: clients (and fuzzers that
/// read the document) learn them from the spec rather than by being refused.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                declare_refusals(operation);
                describe_parameters(operation);
            }
        }
    }
}

fn declare_refusals(operation: &mut Operation) {
    let parameters: Vec<&Parameter> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_body = operation.request_body.is_some();
    let names_a_resource = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path);
    let takes_a_key = parameters.iter().any(|p| p.name == "Idempotency-Key");
    // `security(())` declares an open operation as one empty requirement.
    let secured = operation
        .security
        .iter()
        .flatten()
        .any(|r| *r != SecurityRequirement::default());
    let refusals = [
        (
            has_body || !parameters.is_empty(),
            "400",
            "The request is not valid (`validation_failed`, `invalid_amount`)",
        ),
        (
            secured,
            "401",
            "No valid bearer token: `token_expired` (refresh it), `invalid_token` (log in again) or `unauthorized` (none sent, or the session or user has ended)",
        ),
        (
            secured,
            "403",
            "The caller's roles do not allow it (`forbidden`)",
        ),
        (
            names_a_resource,
            "404",
            "No such resource, or an id that is not one (`not_found`)",
        ),
        (
            takes_a_key,
            "409",
            "The same Idempotency-Key is still being answered (`idempotency_key_in_flight`)",
        ),
        (
            takes_a_key,
            "422",
            "The Idempotency-Key was used with another request (`idempotency_key_reused`)",
        ),
        (
            has_body,
            "413",
            "The body is over 1 MiB (`payload_too_large`)",
        ),
        (
            has_body,
            "415",
            "The body is not `application/json` (`unsupported_media_type`)",
        ),
    ];
    for (applies, status, description) in refusals {
        if applies {
            refusal(&mut operation.responses, status, description);
        }
    }
}

fn refusal(responses: &mut Responses, status: &str, description: &str) {
    responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            RefOr::T(
                Response::builder()
                    .description(description)
                    .content(
                        "application/problem+json",
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    )
                    .build(),
            )
        });
}

/// The rules every page size and every Idempotency-Key follow, stated on the
/// parameters that carry them.
fn describe_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema else {
            continue;
        };
        match parameter.name.as_str() {
            "limit" => {
                schema.minimum = Some(1.into());
                schema.maximum = Some(MAX_LIMIT.into());
                schema.default = Some(DEFAULT_LIMIT.into());
                parameter.description = Some(format!("Page size, 1 to {MAX_LIMIT}"));
            }
            "Idempotency-Key" => {
                schema.pattern = Some(format!("^[!-~]{{1,{MAX_KEY_LEN}}}$"));
            }
            _ => {}
        }
    }
}

/// The document as served and as committed in `openapi/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub fn pretty_json() -> String {
    document().to_pretty_json().unwrap_or_default() + "\n"
}
