//! Earning rules: versions are inserted, never changed.

use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::earning_rules;
use crate::domain::{EarningRuleId, LedgerId, RuleCategory, UserId};
use crate::error::AppError;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = earning_rules)]
pub struct EarningRuleRow {
    pub id: EarningRuleId,
    pub ledger_id: LedgerId,
    pub category: RuleCategory,
    pub version: i32,
    pub points_per_hour: i64,
    pub min_unit_minutes: i32,
    pub max_minutes_per_day: i32,
    pub max_minutes_per_record: i32,
    pub multiplier_percent: i32,
    pub campaign_from: Option<UtcTime>,
    pub campaign_until: Option<UtcTime>,
    pub effective_from: UtcTime,
    pub created_by: UserId,
    pub created_at: UtcTime,
}

pub fn insert(conn: &mut DbConnection, row: &EarningRuleRow) -> Result<(), AppError> {
    diesel::insert_into(earning_rules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut DbConnection,
    id: &EarningRuleId,
) -> Result<Option<EarningRuleRow>, AppError> {
    Ok(earning_rules::table
        .find(id)
        .select(EarningRuleRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The latest version of a category's rule, whenever it takes effect.
pub fn latest(
    conn: &mut DbConnection,
    ledger: &LedgerId,
    category: &RuleCategory,
) -> Result<Option<EarningRuleRow>, AppError> {
    Ok(earning_rules::table
        .filter(earning_rules::ledger_id.eq(ledger))
        .filter(earning_rules::category.eq(category))
        .order(earning_rules::version.desc())
        .select(EarningRuleRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every version of the given categories' rules of a ledger.
pub fn versions(
    conn: &mut DbConnection,
    ledger: &LedgerId,
    categories: &[RuleCategory],
) -> Result<Vec<EarningRuleRow>, AppError> {
    Ok(earning_rules::table
        .filter(earning_rules::ledger_id.eq(ledger))
        .filter(earning_rules::category.eq_any(categories))
        .select(EarningRuleRow::as_select())
        .load(conn)?)
}

/// Every version of a ledger's rules, newest first within each category.
pub fn page(
    conn: &mut DbConnection,
    ledger: &LedgerId,
    after: Option<EarningRuleId>,
    limit: i64,
) -> Result<Vec<EarningRuleRow>, AppError> {
    let mut query = earning_rules::table
        .filter(earning_rules::ledger_id.eq(ledger))
        .order(earning_rules::id)
        .limit(limit)
        .select(EarningRuleRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(earning_rules::id.gt(after));
    }
    Ok(query.load(conn)?)
}
