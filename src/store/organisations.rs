//! The organisation tree, stored with a materialised path per node.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::organisations;
use super::subtree::PathWithin;
use crate::domain::{OrgPath, OrganisationId, OrganisationKind};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: OrganisationId,
    pub parent_id: Option<OrganisationId>,
    pub path: OrgPath,
    pub name: String,
    pub kind: OrganisationKind,
    pub created_at: UtcTime,
    pub updated_at: UtcTime,
}

pub fn insert(conn: &mut DbConnection, row: &OrganisationRow) -> Result<(), AppError> {
    diesel::insert_into(organisations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut DbConnection,
    id: &OrganisationId,
) -> Result<Option<OrganisationRow>, AppError> {
    Ok(organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The first root of the tree (the scheme's city), if any.
pub fn first_root(conn: &mut DbConnection) -> Result<Option<OrganisationRow>, AppError> {
    Ok(organisations::table
        .filter(organisations::parent_id.is_null())
        .order(organisations::id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .optional()?)
}

pub struct OrganisationFilter {
    pub parent_id: Option<OrganisationId>,
    pub kind: Option<OrganisationKind>,
}

/// A page of the organisations inside the subtrees, in id order.
pub fn page(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    filter: &OrganisationFilter,
    after: Option<OrganisationId>,
    limit: i64,
) -> Result<Vec<OrganisationRow>, AppError> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = organisations::table
        .select(OrganisationRow::as_select())
        .filter(PathWithin::new(subtrees))
        .order(organisations::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(organisations::id.gt(after));
    }
    if let Some(parent) = &filter.parent_id {
        query = query.filter(organisations::parent_id.eq(*parent));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(organisations::kind.eq(*kind));
    }
    Ok(query.load(conn)?)
}

/// Holds the node's row lock for the rest of the transaction (a no-op
/// update), so that creating a child and moving the node cannot interleave:
/// each reads the path only after the other has committed.
pub fn lock(conn: &mut DbConnection, id: &OrganisationId) -> Result<(), AppError> {
    diesel::update(organisations::table.find(id))
        .set(organisations::updated_at.eq(organisations::updated_at))
        .execute(conn)?;
    Ok(())
}

pub fn rename(
    conn: &mut DbConnection,
    id: &OrganisationId,
    name: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(organisations::table.find(id))
        .set((
            organisations::name.eq(name),
            organisations::updated_at.eq(UtcTime(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves a node under `parent`, rewriting the path of its whole subtree.
pub fn move_subtree(
    conn: &mut DbConnection,
    id: &OrganisationId,
    parent: &OrganisationId,
    from: &OrgPath,
    to: &OrgPath,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let subtree: Vec<(OrganisationId, OrgPath)> = organisations::table
        .filter(organisations::path.like(format!("{}%", from.as_str())))
        .select((organisations::id, organisations::path))
        .load(conn)?;
    diesel::update(organisations::table.find(id))
        .set((
            organisations::parent_id.eq(parent),
            organisations::updated_at.eq(UtcTime(at)),
        ))
        .execute(conn)?;
    for (node, old) in subtree {
        let new = old
            .rebase(from, to)
            .ok_or_else(|| AppError::internal("subtree path outside its root"))?;
        diesel::update(organisations::table.find(node))
            .set(organisations::path.eq(new))
            .execute(conn)?;
    }
    Ok(())
}
