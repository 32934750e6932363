//! The audit log: every change outside the ledger, with who made it, when, and
//! the object before and after. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::caller::Caller;
use super::page::{Limit, Page};
use crate::domain::{AuditEntryId, Line, OrganisationId, Role, UserId};
use crate::error::AppError;
use crate::store::DbConnection;
use crate::store::audit_log::{self, AuditFilter, AuditRow};

/// One change to record.
pub struct Change<'a> {
    pub actor: Option<UserId>,
    /// `<entity>.<verb>`, e.g. `organisation.moved`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    /// Where the change happened; decides which admins and auditors see it.
    pub organisation_id: Option<OrganisationId>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub fn record(conn: &mut DbConnection, change: Change<'_>) -> Result<(), AppError> {
    let text = |v: Option<serde_json::Value>| {
        v.map(|v| serde_json::to_string(&v))
            .transpose()
            .map_err(AppError::internal)
    };
    audit_log::insert(
        conn,
        &AuditRow {
            id: AuditEntryId::generate(),
            at: Utc::now().into(),
            actor_id: change.actor,
            action: change.action.to_string(),
            entity_type: change.entity_type.to_string(),
            entity_id: change.entity_id,
            organisation_id: change.organisation_id,
            before: text(change.before)?,
            after: text(change.after)?,
        },
    )
}

/// JSON of a view, for `before` and `after`.
pub fn snapshot<T: Serialize>(value: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(AppError::internal)
}

/// One change outside the ledger: who, what, when, before and after.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0a",
    "at": "2026-03-14T09:30:00Z",
    "actor_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d07",
    "action": "update",
    "entity_type": "volunteer",
    "entity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "before": {
        "leaderboard_consent": true
    },
    "after": {
        "leaderboard_consent": false
    }
})))]
pub struct AuditEntryView {
    /// The entry's id.
    pub id: AuditEntryId,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// Who made the change; null for the service itself.
    pub actor_id: Option<UserId>,
    /// What was done, e.g. `create`, `update`, `grant_role`.
    pub action: String,
    /// What kind of thing changed, e.g. `user`, `volunteer`.
    pub entity_type: String,
    /// The id of what changed.
    pub entity_id: String,
    /// The organisation it belongs to.
    pub organisation_id: Option<OrganisationId>,
    /// The thing before the change; null when created.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The thing after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `user` (roles included), `organisation`, `volunteer`, `account`, `setting`.
    #[param(value_type = Option<String>)]
    pub entity_type: Option<Line>,
    #[param(value_type = Option<String>)]
    pub entity_id: Option<Line>,
    pub actor_id: Option<UserId>,
    /// e.g. `user.disabled`.
    #[param(value_type = Option<String>)]
    pub action: Option<Line>,
    pub limit: Option<u32>,
    pub cursor: Option<AuditEntryId>,
}

impl AuditEntryView {
    fn new(row: AuditRow) -> Result<Self, AppError> {
        let json = |v: Option<String>| {
            v.map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| AppError::internal(format!("corrupt audit_log JSON: {e}")))
        };
        Ok(Self {
            id: row.id,
            at: row.at.into(),
            actor_id: row.actor_id,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            organisation_id: row.organisation_id,
            before: json(row.before)?,
            after: json(row.after)?,
        })
    }
}

impl App {
    /// Administrators and auditors read the changes made inside their subtrees;
    /// those at the root also see service-wide ones.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> Result<Page<AuditEntryView>, AppError> {
        let roles = [Role::Admin, Role::Auditor];
        caller.require_any(&roles)?;
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(&roles);
        let everything = caller.everywhere(&roles);
        let filter = AuditFilter {
            entity_type: query.entity_type.map(String::from),
            entity_id: query.entity_id.map(String::from),
            actor_id: query.actor_id,
            action: query.action.map(String::from),
        };
        let rows = self
            .store
            .run(move |conn| {
                audit_log::page(
                    conn,
                    &subtrees,
                    everything,
                    &filter,
                    query.cursor,
                    limit.probe(),
                )
            })
            .await?;
        let views = rows
            .into_iter()
            .map(AuditEntryView::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }
}
