//! "Everything under these organisations" as SQL: a prefix match on the
//! organisations' materialised paths, used as a subquery that other tables join
//! on, so a subtree never travels as a list of ids. One shape for both
//! backends (the generic `MultiBackend` cannot box a subquery).

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, Text};

use super::schema::organisations;
use crate::domain::OrgPath;

/// `organisations.path LIKE 'p1%' OR ...`; false for no subtree.
#[derive(Clone, Debug)]
pub struct PathWithin(Vec<String>);

impl PathWithin {
    pub fn new(subtrees: &[OrgPath]) -> Self {
        // Paths hold only UUIDs and '/', so they carry no LIKE wildcards.
        Self(
            subtrees
                .iter()
                .map(|s| format!("{}%", s.as_str()))
                .collect(),
        )
    }
}

impl Expression for PathWithin {
    type SqlType = Bool;
}

impl<DB> QueryFragment<DB> for PathWithin
where
    DB: Backend,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.0.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        out.push_sql("(");
        for (i, prefix) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_sql(" OR ");
            }
            out.push_sql("organisations.path LIKE ");
            out.push_bind_param::<Text, String>(prefix)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl QueryId for PathWithin {
    type QueryId = ();
    // The SQL grows with the number of subtrees.
    const HAS_STATIC_QUERY_ID: bool = false;
}

// It names its table in full, so it may stand inside a subquery of any query.
impl<QS> AppearsOnTable<QS> for PathWithin {}
impl<QS> SelectableExpression<QS> for PathWithin {}
impl ValidGrouping<()> for PathWithin {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

pub type Within =
    diesel::dsl::Select<diesel::dsl::Filter<organisations::table, PathWithin>, organisations::id>;

/// The ids of every organisation inside one of the subtrees, as a subquery.
pub fn within(subtrees: &[OrgPath]) -> Within {
    organisations::table
        .filter(PathWithin::new(subtrees))
        .select(organisations::id)
}
