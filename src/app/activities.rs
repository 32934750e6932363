//! Activities: the kinds of service an organisation offers, each in a
//! category that earning rules price. An activity applies in its
//! organisation's whole subtree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::Caller;
use super::idempotency::{Claim, run_once};
use super::names::valid_name;
use super::organisations::{Node, find, named};
use super::page::{Limit, Page};
use crate::domain::{ActivityId, Category, Line, OrganisationId, OrganisationKind, Role};
use crate::error::{AppError, ErrorCode};
use crate::store::activities::{self, ActivityRow};
use crate::store::{DbConnection, write_transaction};

/// Who defines activities for their subtree.
const DEFINERS: &[Role] = &[Role::Admin];
/// Who reads them: everyone who records or checks service.
const READERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Auditor];

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "name": "Visiting elderly neighbours",
    "category": "elderly_care"
})))]
#[serde(deny_unknown_fields)]
/// An activity to define.
pub struct CreateActivityRequest {
    /// Where the activity is offered: there and everywhere below it.
    pub organisation_id: OrganisationId,
    /// 1 to 200 characters, unique within the organisation.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Line,
    /// The category earning rules price it by: lower-case letters, digits and `_`.
    #[schema(value_type = String, pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub category: String,
}

/// Changes to an activity; fields left out stay as they are. A new category
/// prices only service recorded from now on.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"active": false})))]
#[serde(deny_unknown_fields)]
pub struct UpdateActivityRequest {
    /// New name, unique within the organisation.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub name: Option<Line>,
    /// New category.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub category: Option<String>,
    /// An inactive activity keeps its history; no new service is recorded for it.
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "name": "Visiting elderly neighbours",
    "category": "elderly_care",
    "active": true,
    "created_at": "2026-03-14T09:30:00Z",
    "updated_at": "2026-03-14T09:30:00Z"
})))]
/// A kind of service an organisation offers.
pub struct ActivityView {
    /// The activity's id.
    pub id: ActivityId,
    /// Where it is offered: there and everywhere below.
    pub organisation_id: OrganisationId,
    /// Its name.
    pub name: String,
    /// The category earning rules price it by.
    pub category: String,
    /// Whether new service may be recorded for it.
    pub active: bool,
    /// When it was defined.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ActivityView {
    pub fn new(row: &ActivityRow) -> Self {
        Self {
            id: row.id,
            organisation_id: row.organisation_id,
            name: row.name.clone(),
            category: row.category.to_string(),
            active: row.active,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Only active (true) or inactive (false) activities.
    pub active: Option<bool>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<ActivityId>,
}

pub fn parse_category(field: &str, raw: &str) -> Result<Category, AppError> {
    raw.parse()
        .map_err(|rule: &str| AppError::invalid_field(field, rule))
}

/// An activity whose owner `roles` of the caller reach, or one offered above
/// them (a city-wide activity, say); 404 otherwise.
fn visible(
    conn: &mut DbConnection,
    caller: &Caller,
    roles: &[Role],
    id: &ActivityId,
) -> Result<(ActivityRow, Node), AppError> {
    let hidden = || AppError::not_found("activity");
    let row = activities::get(conn, id)?.ok_or_else(hidden)?;
    let owner = find(conn, &row.organisation_id)?.ok_or_else(hidden)?;
    if !caller.reaches(roles, owner.path()) {
        return Err(hidden());
    }
    Ok((row, owner))
}

fn audit_change(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    before: Option<&ActivityView>,
    after: &ActivityView,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Change {
            actor: Some(caller.user_id),
            action,
            entity_type: "activity",
            entity_id: after.id.to_string(),
            organisation_id: Some(after.organisation_id),
            before: before.map(snapshot).transpose()?,
            after: Some(snapshot(after)?),
        },
    )
}

fn refuse_taken(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
    except: Option<&ActivityId>,
) -> Result<(), AppError> {
    if activities::name_taken(conn, organisation, name, except)? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "the organisation already has an activity of that name",
        ));
    }
    Ok(())
}

impl App {
    pub async fn create_activity(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateActivityRequest,
    ) -> Result<Answer<ActivityView>, AppError> {
        caller.require_any(DEFINERS)?;
        let name = valid_name("name", &request.name)?;
        let category = parse_category("category", &request.category)?;
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/activities",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let owner = named(
                conn,
                &caller,
                DEFINERS,
                "organisation_id",
                &request.organisation_id,
            )?;
            if owner.kind() == OrganisationKind::Partner {
                return Err(AppError::invalid_field(
                    "organisation_id",
                    "activities are offered by communities, not partners",
                ));
            }
            refuse_taken(conn, &owner.id(), &name, None)?;
            let now = Utc::now().into();
            let row = ActivityRow {
                id: ActivityId::generate(),
                organisation_id: owner.id(),
                name: name.clone(),
                category: category.clone(),
                active: true,
                created_at: now,
                updated_at: now,
            };
            activities::insert(conn, &row)?;
            let view = ActivityView::new(&row);
            audit_change(conn, &caller, "activity.created", None, &view)?;
            Ok(view)
        })
        .await
    }

    pub async fn get_activity(
        &self,
        caller: &Caller,
        id: ActivityId,
    ) -> Result<ActivityView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| Ok(ActivityView::new(&visible(conn, &caller, READERS, &id)?.0)))
            .await
    }

    /// The activities the caller may use: those of their subtrees and those
    /// offered above them.
    pub async fn list_activities(
        &self,
        caller: &Caller,
        query: ActivityQuery,
    ) -> Result<Page<ActivityView>, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(READERS);
        let mut owners: Vec<OrganisationId> = subtrees.iter().flat_map(|p| p.ids()).collect();
        owners.sort_unstable();
        owners.dedup();
        let rows = self
            .store
            .run(move |conn| {
                activities::page(
                    conn,
                    &subtrees,
                    &owners,
                    query.active,
                    query.cursor,
                    limit.probe(),
                )
            })
            .await?;
        let views = rows.iter().map(ActivityView::new).collect();
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    pub async fn update_activity(
        &self,
        caller: &Caller,
        id: ActivityId,
        request: UpdateActivityRequest,
    ) -> Result<ActivityView, AppError> {
        caller.require_any(DEFINERS)?;
        let name = request
            .name
            .as_deref()
            .map(|n| valid_name("name", n))
            .transpose()?;
        let category = request
            .category
            .as_deref()
            .map(|c| parse_category("category", c))
            .transpose()?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let (mut row, owner) = visible(conn, &caller, DEFINERS, &id)?;
                    // Administrators below the owner use it but do not change it.
                    if !caller.covers(DEFINERS, owner.path()) {
                        return Err(AppError::forbidden(
                            "the activity is defined above your organisation",
                        ));
                    }
                    let before = ActivityView::new(&row);
                    if let Some(name) = &name {
                        refuse_taken(conn, &row.organisation_id, name, Some(&row.id))?;
                        row.name = name.clone();
                    }
                    if let Some(category) = &category {
                        row.category = category.clone();
                    }
                    if let Some(active) = request.active {
                        row.active = active;
                    }
                    row.updated_at = Utc::now().into();
                    activities::save(conn, &row)?;
                    let after = ActivityView::new(&row);
                    audit_change(conn, &caller, "activity.updated", Some(&before), &after)?;
                    Ok(after)
                })
            })
            .await
    }
}
