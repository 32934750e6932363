//! The organisation tree: city, districts, streets, communities, grids and
//! partners. Administrators build it inside their subtree; every change is
//! audited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::Caller;
use super::idempotency::{Claim, run_once};
use super::names::valid_name;
use super::page::{Limit, Page};
use crate::domain::{Line, OrgPath, OrganisationId, OrganisationKind, Role};
use crate::error::AppError;
use crate::store::organisations::{self, OrganisationFilter, OrganisationRow};
use crate::store::{DbConnection, write_transaction};

/// Every role sees the organisations of its own subtree.
pub const ANY_ROLE: &[Role] = Role::ALL;

/// A node to add to the organisation tree.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "name": "Drum Tower Community",
    "kind": "community",
    "parent_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01"
})))]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisationRequest {
    /// Display name, 1 to 200 characters.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Line,
    /// What the node is (city, district, community, partner, ...).
    pub kind: OrganisationKind,
    /// The node to create it under (the root is made by `timebank bootstrap`).
    pub parent_id: OrganisationId,
}

/// A rename, a move, or both.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "name": "Drum Tower Street Community"
})))]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganisationRequest {
    /// New display name, 1 to 200 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Option<Line>,
    /// Move the node, with its whole subtree, under this one.
    #[serde(default)]
    pub parent_id: Option<OrganisationId>,
}

/// A node of the organisation tree.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "parent_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "name": "Drum Tower Community",
    "kind": "community",
    "path": [
        "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
        "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
    ],
    "created_at": "2026-03-14T09:30:00Z",
    "updated_at": "2026-03-14T09:30:00Z"
})))]
pub struct OrganisationView {
    /// The node's id.
    pub id: OrganisationId,
    /// The node above it; null for the root.
    pub parent_id: Option<OrganisationId>,
    /// Display name.
    pub name: String,
    /// What the node is.
    pub kind: OrganisationKind,
    /// Ids from the root down to this node.
    pub path: Vec<OrganisationId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Only the direct children of this node.
    pub parent_id: Option<OrganisationId>,
    pub kind: Option<OrganisationKind>,
    pub limit: Option<u32>,
    pub cursor: Option<OrganisationId>,
}

/// A stored node.
#[derive(Clone, Debug)]
pub struct Node {
    pub row: OrganisationRow,
}

impl Node {
    pub fn new(row: OrganisationRow) -> Self {
        Self { row }
    }

    pub fn id(&self) -> OrganisationId {
        self.row.id
    }

    pub fn path(&self) -> &OrgPath {
        &self.row.path
    }

    pub fn kind(&self) -> OrganisationKind {
        self.row.kind
    }

    pub fn view(&self) -> OrganisationView {
        OrganisationView {
            id: self.row.id,
            parent_id: self.row.parent_id,
            name: self.row.name.clone(),
            kind: self.row.kind,
            path: self.row.path.ids().collect(),
            created_at: self.row.created_at.into(),
            updated_at: self.row.updated_at.into(),
        }
    }
}

/// The node, or `None` when it does not exist.
pub fn find(conn: &mut DbConnection, id: &OrganisationId) -> Result<Option<Node>, AppError> {
    Ok(organisations::get(conn, id)?.map(Node::new))
}

/// The node if `roles` of the caller reach it; 404 otherwise, whether or not
/// it exists, so nothing outside the caller's scope is disclosed.
pub fn visible(
    conn: &mut DbConnection,
    caller: &Caller,
    roles: &[Role],
    id: &OrganisationId,
) -> Result<Node, AppError> {
    find(conn, id)?
        .filter(|n| caller.covers(roles, n.path()))
        .ok_or_else(|| AppError::not_found("organisation"))
}

/// Like `visible`, for an organisation named in a request body.
pub fn named(
    conn: &mut DbConnection,
    caller: &Caller,
    roles: &[Role],
    field: &str,
    id: &OrganisationId,
) -> Result<Node, AppError> {
    find(conn, id)?
        .filter(|n| caller.covers(roles, n.path()))
        .ok_or_else(|| AppError::invalid_field(field, "no such organisation in your scope"))
}

/// Makes the root of the tree (bootstrap only).
pub fn create_root(
    conn: &mut DbConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<OrganisationRow, AppError> {
    let id = OrganisationId::generate();
    let row = OrganisationRow {
        id,
        parent_id: None,
        path: OrgPath::root(id),
        name: name.to_string(),
        kind: OrganisationKind::City,
        created_at: now.into(),
        updated_at: now.into(),
    };
    organisations::insert(conn, &row)?;
    Ok(row)
}

impl App {
    pub async fn create_organisation(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateOrganisationRequest,
    ) -> Result<Answer<OrganisationView>, AppError> {
        caller.require_admin()?;
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/organisations",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let name = valid_name("name", &request.name)?;
            organisations::lock(conn, &request.parent_id)?;
            let parent = named(
                conn,
                &caller,
                &[Role::Admin],
                "parent_id",
                &request.parent_id,
            )?;
            if parent.kind() == OrganisationKind::Partner {
                return Err(AppError::invalid_field(
                    "parent_id",
                    "a partner has no organisations under it",
                ));
            }
            let id = OrganisationId::generate();
            let now = Utc::now().into();
            let row = OrganisationRow {
                id,
                parent_id: Some(parent.id()),
                path: parent.path().child(id),
                name,
                kind: request.kind,
                created_at: now,
                updated_at: now,
            };
            organisations::insert(conn, &row)?;
            let node = Node::new(row);
            let view = node.view();
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: "organisation.created",
                    entity_type: "organisation",
                    entity_id: id.to_string(),
                    organisation_id: Some(id),
                    before: None,
                    after: Some(snapshot(&view)?),
                },
            )?;
            Ok(view)
        })
        .await
    }

    pub async fn get_organisation(
        &self,
        caller: &Caller,
        id: OrganisationId,
    ) -> Result<OrganisationView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| Ok(visible(conn, &caller, ANY_ROLE, &id)?.view()))
            .await
    }

    pub async fn list_organisations(
        &self,
        caller: &Caller,
        query: OrganisationQuery,
    ) -> Result<Page<OrganisationView>, AppError> {
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(ANY_ROLE);
        let filter = OrganisationFilter {
            parent_id: query.parent_id,
            kind: query.kind,
        };
        let rows = self
            .store
            .run(move |conn| {
                organisations::page(conn, &subtrees, &filter, query.cursor, limit.probe())
            })
            .await?;
        let views = rows.into_iter().map(|r| Node::new(r).view()).collect();
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    /// Renames and moves. A move needs admin rights above the node (over its
    /// current parent) and over the new parent, and may not go into its own
    /// subtree.
    pub async fn update_organisation(
        &self,
        caller: &Caller,
        id: OrganisationId,
        request: UpdateOrganisationRequest,
    ) -> Result<OrganisationView, AppError> {
        caller.require_admin()?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let admin = [Role::Admin];
                    organisations::lock(conn, &id)?;
                    let node = visible(conn, &caller, &admin, &id)?;
                    let before = node.view();
                    let now = Utc::now();
                    if let Some(name) = &request.name {
                        let name = valid_name("name", name)?;
                        if name != node.row.name {
                            organisations::rename(conn, &node.row.id, &name, now)?;
                            audit_node(conn, &caller, "organisation.renamed", &before)?;
                        }
                    }
                    if let Some(parent_id) = request.parent_id {
                        let current =
                            find(conn, &id)?.ok_or_else(|| AppError::not_found("organisation"))?;
                        let before = current.view();
                        if current.row.parent_id != Some(parent_id) {
                            move_node(conn, &caller, &current, &parent_id, now)?;
                            audit_node(conn, &caller, "organisation.moved", &before)?;
                        }
                    }
                    Ok(find(conn, &id)?
                        .ok_or_else(|| AppError::not_found("organisation"))?
                        .view())
                })
            })
            .await
    }
}

/// Files a change of a node in the audit log, with the node as it is now.
fn audit_node(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    before: &OrganisationView,
) -> Result<(), AppError> {
    let after = find(conn, &before.id)?
        .ok_or_else(|| AppError::not_found("organisation"))?
        .view();
    audit::record(
        conn,
        Change {
            actor: Some(caller.user_id),
            action,
            entity_type: "organisation",
            entity_id: before.id.to_string(),
            organisation_id: Some(before.id),
            before: Some(snapshot(before)?),
            after: Some(snapshot(&after)?),
        },
    )
}

fn move_node(
    conn: &mut DbConnection,
    caller: &Caller,
    node: &Node,
    parent_id: &OrganisationId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let admin = [Role::Admin];
    let Some(old_parent) = node.row.parent_id else {
        return Err(AppError::invalid_field(
            "parent_id",
            "the root cannot be moved",
        ));
    };
    let old_parent = find(conn, &old_parent)?.ok_or_else(|| AppError::not_found("organisation"))?;
    if !caller.covers(&admin, old_parent.path()) {
        return Err(AppError::forbidden(
            "moving a node needs admin rights over its parent",
        ));
    }
    organisations::lock(conn, parent_id)?;
    let parent = named(conn, caller, &admin, "parent_id", parent_id)?;
    if node.path().contains(parent.path()) {
        return Err(AppError::invalid_field(
            "parent_id",
            "a node cannot move into its own subtree",
        ));
    }
    if parent.kind() == OrganisationKind::Partner {
        return Err(AppError::invalid_field(
            "parent_id",
            "a partner has no organisations under it",
        ));
    }
    let to = parent.path().child(node.id());
    organisations::move_subtree(conn, &node.row.id, &parent.row.id, node.path(), &to, now)
}
