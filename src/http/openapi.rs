//! The OpenAPI document, generated from the real handlers.

use serde_json::{Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::response::{Response, Responses};
use utoipa::openapi::schema::{Object, OneOf, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::app::idempotency::MAX_KEY_LEN;
use crate::app::page::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{AppError, ErrorCode};

use super::problem::PROBLEM_JSON;

use super::{
    accounts, activities, audit_log, auth, check_ins, earning_rules, health, leaderboards, ledgers,
    metrics, organisations, service_records, transfers, users, volunteers,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "timebank",
        description = "Double-entry ledger for volunteer time banks: hours earn points, points buy goods and services at partner sites. Amounts are decimal strings in the ledger's scale (`\"12.50\"`), ids are UUIDs, times RFC 3339; refusals are RFC 9457 problem+json with a stable `code`.\n\nTo try it out: `POST /v1/auth/token` with a username and password, copy `access_token` into **Authorize**, then call the rest. Writes that move points (`POST /v1/transfers` and the settlements) need an `Idempotency-Key` header: any new value per request, the same on a retry.",
        license(name = "MIT"),
    ),
    paths(
        auth::token, auth::refresh, auth::logout,
        organisations::create_organisation, organisations::list_organisations,
        organisations::get_organisation, organisations::update_organisation,
        users::create_user, users::list_users, users::get_user, users::update_user,
        users::grant_role, users::revoke_role, users::me, users::update_me, users::change_password,
        volunteers::create_volunteer, volunteers::list_volunteers, volunteers::get_volunteer,
        volunteers::update_volunteer, volunteers::volunteer_summary, leaderboards::leaderboard,
        activities::create_activity, activities::list_activities, activities::get_activity,
        activities::update_activity,
        earning_rules::create_earning_rule, earning_rules::list_earning_rules,
        service_records::record_service, service_records::record_service_batch,
        service_records::record_event,
        service_records::list_service_records,
        service_records::get_service_record, service_records::reverse_service_record,
        service_records::approve_service_record, service_records::reject_service_record,
        check_ins::open_check_in, check_ins::list_check_ins, check_ins::get_check_in,
        check_ins::confirm_check_in, check_ins::check_in, check_ins::check_out,
        audit_log::audit_log,
        ledgers::create_ledger, ledgers::list_ledgers, ledgers::get_ledger, ledgers::verify_ledger,
        accounts::open_account, accounts::list_accounts, accounts::get_account, accounts::balance,
        accounts::postings, accounts::freeze, accounts::unfreeze, accounts::close,
        transfers::create_transfer, transfers::list_transfers, transfers::get_transfer,
        transfers::post_pending, transfers::void_pending, transfers::reverse,
        health::healthz, health::readyz, metrics::metrics,
    ),
    modifiers(&BearerAuth, &CommonAnswers, &TransferForms, &ProblemExamples),
    tags(
        (name = "auth", description = "Log in, refresh, log out"),
        (name = "organisations", description = "The organisation tree every role is scoped to"),
        (name = "users", description = "People who log in, their roles, and yourself"),
        (name = "volunteers", description = "Registered volunteers and their wallets"),
        (name = "service", description = "Activities, earning rules and recorded volunteer service"),
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

/// Every operation of the document, whatever its method.
fn operations_mut(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// Refusals any operation can give, declared where its handler does not list
/// them itself, and the bounds of every page size: clients (and fuzzers that
/// read the document) learn them from the spec rather than by being refused.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations_mut(openapi) {
            declare_refusals(operation);
            describe_parameters(operation);
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
            "The request is not valid (`validation_failed`, `invalid_amount`, `idempotency_key_missing`)",
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

/// `CreateTransferRequest` parses one flat object; the document states its two
/// forms as `oneOf`, so clients (and Swagger UI's proposed body) never mix
/// them. Both forms are cut from the derived schema, so each field's rules and
/// description stay on the struct.
struct TransferForms;

const TRANSFER_SCHEMA: &str = "CreateTransferRequest";
const POSTINGS_FORM: &[&str] = &["postings"];
const SHORTHAND_FORM: &[&str] = &["debit_account_id", "credit_account_id", "amount"];

fn transfer_examples() -> [(&'static str, &'static str, Value); 2] {
    [
        (
            "postings",
            "Hours credited: the issuance account pays a volunteer's wallet",
            json!({
                "kind": "hours_credit",
                "postings": [
                    {"account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d03", "direction": "debit", "amount": "12.50"},
                    {"account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04", "direction": "credit", "amount": "12.50"}
                ],
                "description": "Park clean-up, 2.5 hours",
                "external_ref": "event-2026-03-14-park-cleanup"
            }),
        ),
        (
            "shorthand",
            "A redemption at a partner shop, as the two-leg shorthand",
            json!({
                "kind": "redemption",
                "debit_account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
                "credit_account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d05",
                "amount": "8.00",
                "external_ref": "receipt-2026-0314-17"
            }),
        ),
    ]
}

impl Modify for TransferForms {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let examples = transfer_examples();
        if let Some(components) = openapi.components.as_mut()
            && let Some(RefOr::T(Schema::Object(flat))) = components.schemas.get(TRANSFER_SCHEMA)
        {
            let [(_, _, postings), (_, _, shorthand)] = examples.clone();
            let forms = OneOf {
                items: vec![
                    RefOr::T(Schema::Object(transfer_form(
                        flat,
                        "Postings",
                        "The legs as `postings`: two or more, debits equal to credits.",
                        POSTINGS_FORM,
                        SHORTHAND_FORM,
                        postings.clone(),
                    ))),
                    RefOr::T(Schema::Object(transfer_form(
                        flat,
                        "Shorthand",
                        "Two legs: `amount` moves from `debit_account_id` to `credit_account_id`.",
                        SHORTHAND_FORM,
                        POSTINGS_FORM,
                        shorthand.clone(),
                    ))),
                ],
                description: flat.description.clone(),
                examples: vec![postings, shorthand],
                ..OneOf::new()
            };
            components
                .schemas
                .insert(TRANSFER_SCHEMA.to_string(), RefOr::T(Schema::OneOf(forms)));
        }
        // Named examples give Swagger UI a choice of the two forms.
        let body = openapi
            .paths
            .paths
            .get_mut("/v1/transfers")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
            .and_then(|body| match body {
                RefOr::T(body) => body.content.get_mut("application/json"),
                RefOr::Ref(_) => None,
            });
        if let Some(RefOr::T(content)) = body {
            for (name, summary, value) in examples {
                content.examples.insert(
                    name.to_string(),
                    RefOr::T(
                        ExampleBuilder::new()
                            .summary(summary)
                            .value(Some(value))
                            .build(),
                    ),
                );
            }
        }
    }
}

/// One form: the flat schema without the other form's fields, with its own
/// fields required and not nullable.
fn transfer_form(
    flat: &Object,
    title: &str,
    description: &str,
    own: &[&str],
    other: &[&str],
    example: Value,
) -> Object {
    let mut form = flat.clone();
    form.title = Some(title.to_string());
    form.description = Some(description.to_string());
    form.examples = vec![example];
    for field in other {
        form.properties.remove(*field);
    }
    for field in own {
        if let Some(schema) = form.properties.get_mut(*field) {
            not_null(schema);
        }
        form.required.push((*field).to_string());
    }
    form
}

/// `Option<T>` is derived as "T or null"; a required field of a form is T.
fn not_null(schema: &mut RefOr<Schema>) {
    let without_null = |types: &mut SchemaType| {
        if let SchemaType::Array(list) = types {
            list.retain(|t| *t != Type::Null);
            if let [only] = list.as_slice() {
                *types = SchemaType::Type(only.clone());
            }
        }
    };
    match schema {
        RefOr::T(Schema::OneOf(one_of)) => {
            let mut kept: Vec<RefOr<Schema>> = one_of
                .items
                .drain(..)
                .filter(|item| {
                    !matches!(item, RefOr::T(Schema::Object(o))
                        if o.schema_type == SchemaType::Type(Type::Null))
                })
                .collect();
            if kept.len() == 1
                && let Some(only) = kept.pop()
            {
                *schema = only;
            } else {
                one_of.items = kept;
            }
        }
        RefOr::T(Schema::Array(array)) => without_null(&mut array.schema_type),
        RefOr::T(Schema::Object(object)) => without_null(&mut object.schema_type),
        _ => {}
    }
}

/// Every problem response shows what it looks like, once for each code its
/// description names (each description names real codes in backticks; a
/// response that names none shows the first code of its status).
struct ProblemExamples;

impl Modify for ProblemExamples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations_mut(openapi) {
            for (status, response) in operation.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON) else {
                    continue;
                };
                if content.example.is_some() || !content.examples.is_empty() {
                    continue;
                }
                for code in codes_named(status, &response.description) {
                    let problem = example_refusal(code).problem();
                    content.examples.insert(
                        code.as_str().to_string(),
                        RefOr::T(
                            ExampleBuilder::new()
                                .summary(code.title())
                                .value(serde_json::to_value(problem).ok())
                                .build(),
                        ),
                    );
                }
            }
        }
    }
}

/// The codes of `status` that `description` names, in the order it names them.
fn codes_named(status: &str, description: &str) -> Vec<ErrorCode> {
    let of_status: Vec<ErrorCode> = ErrorCode::ALL
        .iter()
        .copied()
        .filter(|code| code.status().to_string() == status)
        .collect();
    let named: Vec<ErrorCode> = description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|word| of_status.iter().copied().find(|c| c.as_str() == word))
        .collect();
    if named.is_empty() {
        of_status.into_iter().take(1).collect()
    } else {
        named
    }
}

fn example_refusal(code: ErrorCode) -> AppError {
    match code {
        ErrorCode::ValidationFailed => AppError::invalid_field("name", "must not be empty"),
        ErrorCode::InvalidAmount => {
            let mut refusal =
                AppError::new(code, "more decimal places than the ledger's scale (2)");
            refusal.errors.push(crate::error::FieldError {
                field: "postings[0].amount".to_string(),
                message: "more decimal places than the ledger's scale (2)".to_string(),
            });
            refusal
        }
        _ => AppError::new(code, code.title()),
    }
}
