//! `/v1/audit-log`

use actix_web::{get, web};

use super::extract::{Authenticated, Query};
use crate::app::App;
use crate::app::audit::{AuditEntryView, AuditQuery};
use crate::app::page::Page;
use crate::error::{AppError, Problem};

/// Changes outside the ledger (people, roles, organisations, volunteers,
/// accounts, configuration), oldest first, inside your scope.
#[utoipa::path(
    get, path = "/v1/audit-log", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = Page<AuditEntryView>),
        (status = 403, description = "Administrators and auditors only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit-log")]
pub async fn audit_log(
    app: web::Data<App>,
    Authenticated(caller): Authenticated,
    query: Query<AuditQuery>,
) -> Result<web::Json<Page<AuditEntryView>>, AppError> {
    Ok(web::Json(app.audit_log(&caller, query.into_inner()).await?))
}
