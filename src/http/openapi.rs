//! The OpenAPI document, generated from the real handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, audit_log, auth, health, ledgers, organisations, transfers, users, volunteers,
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
        health::healthz, health::readyz,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in, refresh, log out"),
        (name = "organisations", description = "The organisation tree every role is scoped to"),
        (name = "users", description = "People who log in, their roles, and yourself"),
        (name = "volunteers", description = "Registered volunteers and their wallets"),
        (name = "audit", description = "Every change outside the ledger"),
        (name = "ledgers", description = "Points schemes and their integrity"),
        (name = "accounts", description = "Wallets, partner and system accounts"),
        (name = "transfers", description = "The journal: transfers, holds, reversals"),
        (name = "operations", description = "Probes"),
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

/// The document as served and as committed in `openapi/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub fn pretty_json() -> String {
    document().to_pretty_json().unwrap_or_default() + "\n"
}
