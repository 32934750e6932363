//! Earning rules: how a ledger prices an hour of service, by activity
//! category. A rule is a series of versions; a change is a new version from
//! its start time on, never an edit, so the past is never repriced. Where no
//! version is in force the scheme's defaults apply (`EarningTerms::defaults`).

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::activities::parse_category;
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::Caller;
use super::idempotency::{Claim, run_once};
use super::organisations::find;
use super::page::{Limit, Page};
use crate::domain::service::MAX_RECORD_MINUTES;
use crate::domain::{
    Amount, Campaign, EarningRuleId, EarningTerms, LedgerId, Points, Role, RuleCategory,
};
use crate::error::AppError;
use crate::store::columns::UtcTime;
use crate::store::earning_rules::{self, EarningRuleRow};
use crate::store::{DbConnection, ledgers};

const DEFINERS: &[Role] = &[Role::Admin];
const READERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Auditor];
/// A version may start this far in the past: the clocks of the admin's
/// device and the server differ.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// A campaign: service started inside the window earns `multiplier` times.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"multiplier": "2", "from": "2026-09-30T16:00:00Z", "until": "2026-10-02T16:00:00Z"})))]
#[serde(deny_unknown_fields)]
pub struct CampaignTerms {
    /// A decimal string from "1" to "10", at most two decimals ("2" doubles).
    #[schema(value_type = String, example = "2")]
    pub multiplier: String,
    /// Service started from this time on earns more.
    pub from: DateTime<Utc>,
    /// Service started from this time on earns the normal rate again.
    pub until: DateTime<Utc>,
}

/// A new version of the rule for one category of a ledger (or, without
/// `category`, for every category without a rule of its own). Terms left
/// out are kept from the version before (or are the scheme's defaults),
/// except the campaign, which each version states for itself.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "category": "elderly_care",
    "points_per_hour": "12",
    "min_unit_minutes": 15,
    "max_minutes_per_day": 720,
    "campaign": {"multiplier": "2", "from": "2026-10-01T00:00:00+08:00", "until": "2026-10-03T00:00:00+08:00"}
})))]
#[serde(deny_unknown_fields)]
pub struct CreateEarningRuleRequest {
    /// The points scheme the rule prices service in.
    pub ledger_id: LedgerId,
    /// The activity category priced; leave out for the ledger's general rule.
    #[serde(default)]
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub category: Option<String>,
    /// Points for an hour of service, a decimal string in the ledger's scale.
    #[serde(default)]
    pub points_per_hour: Option<Amount>,
    /// Service is counted in whole units of this many minutes (1 to 1440).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub min_unit_minutes: Option<u32>,
    /// The most minutes credited to one volunteer for one day (1 to 1440).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub max_minutes_per_day: Option<u32>,
    /// The most minutes one record may credit (1 to 1440).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub max_minutes_per_record: Option<u32>,
    /// A campaign window. Each version states its own: a version without
    /// one has none.
    #[serde(default)]
    pub campaign: Option<CampaignTerms>,
    /// When the version takes effect: now (the default) or later, and never
    /// before the version it follows.
    #[serde(default)]
    pub effective_from: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d31",
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "category": "elderly_care",
    "version": 2,
    "points_per_hour": "12.00",
    "min_unit_minutes": 15,
    "max_minutes_per_day": 720,
    "max_minutes_per_record": 720,
    "campaign": {"multiplier": "2", "from": "2026-09-30T16:00:00Z", "until": "2026-10-02T16:00:00Z"},
    "effective_from": "2026-09-01T00:00:00Z",
    "created_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "created_at": "2026-08-30T10:00:00Z"
})))]
/// One version of an earning rule.
pub struct EarningRuleView {
    /// This version's id; service records name it.
    pub id: EarningRuleId,
    /// The points scheme.
    pub ledger_id: LedgerId,
    /// The category priced, or `*` for every category without its own rule.
    pub category: String,
    /// 1 for the first version of the category's rule, then 2, 3, ...
    pub version: i32,
    /// Points for an hour of service, in the ledger's scale.
    pub points_per_hour: String,
    /// Service is counted in whole units of this many minutes.
    pub min_unit_minutes: i32,
    /// The most minutes credited to one volunteer for one day.
    pub max_minutes_per_day: i32,
    /// The most minutes one record may credit.
    pub max_minutes_per_record: i32,
    /// The campaign window of this version, if any.
    pub campaign: Option<CampaignTerms>,
    /// Service started from this time on is priced by this version (until a later one).
    pub effective_from: DateTime<Utc>,
    /// The administrator who made it.
    pub created_by: crate::domain::UserId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl EarningRuleView {
    pub fn new(row: &EarningRuleRow, scale: u32) -> Self {
        let campaign = match (row.campaign_from, row.campaign_until) {
            (Some(from), Some(until)) => Some(CampaignTerms {
                multiplier: Decimal::new(i64::from(row.multiplier_percent), 2)
                    .normalize()
                    .to_string(),
                from: from.into(),
                until: until.into(),
            }),
            _ => None,
        };
        Self {
            id: row.id,
            ledger_id: row.ledger_id,
            category: row.category.to_string(),
            version: row.version,
            points_per_hour: Points::from_minor(row.points_per_hour).to_decimal_string(scale),
            min_unit_minutes: row.min_unit_minutes,
            max_minutes_per_day: row.max_minutes_per_day,
            max_minutes_per_record: row.max_minutes_per_record,
            campaign,
            effective_from: row.effective_from.into(),
            created_by: row.created_by,
            created_at: row.created_at.into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EarningRuleQuery {
    /// The points scheme whose rules to list.
    pub ledger_id: LedgerId,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<EarningRuleId>,
}

/// The terms a stored version sets.
pub fn terms_of(row: &EarningRuleRow) -> EarningTerms {
    let campaign = match (row.campaign_from, row.campaign_until) {
        (Some(from), Some(until)) => Some(Campaign {
            multiplier_percent: u32::try_from(row.multiplier_percent).unwrap_or(100),
            from: from.into(),
            until: until.into(),
        }),
        _ => None,
    };
    EarningTerms {
        points_per_hour: Points::from_minor(row.points_per_hour),
        min_unit_minutes: u32::try_from(row.min_unit_minutes).unwrap_or(1),
        max_minutes_per_day: u32::try_from(row.max_minutes_per_day).unwrap_or(0),
        max_minutes_per_record: u32::try_from(row.max_minutes_per_record).unwrap_or(0),
        campaign,
    }
}

/// A category's rules as one ledger holds them: every version of its own
/// rule and of the ledger's general rule. Versions are never changed, so a
/// book read once answers for any time.
pub struct RuleBook(Vec<EarningRuleRow>);

impl RuleBook {
    pub fn read(
        conn: &mut DbConnection,
        ledger: &LedgerId,
        category: &crate::domain::Category,
    ) -> Result<Self, AppError> {
        let categories = [RuleCategory::Only(category.clone()), RuleCategory::Every];
        Ok(Self(earning_rules::versions(conn, ledger, &categories)?))
    }

    /// The version in force at `at`: the newest of the category's own rule
    /// that had taken effect, else of the general rule; `None` means the
    /// scheme's defaults.
    pub fn in_force(&self, at: DateTime<Utc>) -> Option<&EarningRuleRow> {
        let newest = |general: bool| {
            self.0
                .iter()
                .filter(|r| (r.category == RuleCategory::Every) == general)
                .filter(|r| r.effective_from.0 <= at)
                .max_by_key(|r| r.version)
        };
        newest(false).or_else(|| newest(true))
    }
}

fn minutes(field: &str, given: Option<u32>, kept: u32) -> Result<u32, AppError> {
    let value = given.unwrap_or(kept);
    if !(1..=MAX_RECORD_MINUTES as u32).contains(&value) {
        return Err(AppError::invalid_field(field, "1 to 1440 minutes"));
    }
    Ok(value)
}

fn campaign(terms: &CampaignTerms) -> Result<Campaign, AppError> {
    let field = "campaign.multiplier";
    let multiplier: Decimal = terms
        .multiplier
        .parse()
        .map_err(|_| AppError::invalid_field(field, "a decimal string such as \"2\" or \"1.5\""))?;
    if multiplier.scale() > 2 || multiplier < Decimal::ONE || multiplier > Decimal::TEN {
        return Err(AppError::invalid_field(
            field,
            "from 1 to 10, at most two decimals",
        ));
    }
    if terms.until <= terms.from {
        return Err(AppError::invalid_field(
            "campaign.until",
            "the campaign must end after it starts",
        ));
    }
    let percent = (multiplier * Decimal::ONE_HUNDRED).trunc().mantissa();
    Ok(Campaign {
        multiplier_percent: u32::try_from(percent).unwrap_or(100),
        from: terms.from,
        until: terms.until,
    })
}

impl App {
    pub async fn create_earning_rule(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateEarningRuleRequest,
    ) -> Result<Answer<EarningRuleView>, AppError> {
        caller.require_any(DEFINERS)?;
        let category = match &request.category {
            Some(c) => RuleCategory::Only(parse_category("category", c)?),
            None => RuleCategory::Every,
        };
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/earning-rules",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let hidden = || AppError::invalid_field("ledger_id", "no such ledger in your scope");
            let ledger = ledgers::get(conn, &request.ledger_id)?.ok_or_else(hidden)?;
            let owner = find(conn, &ledger.organisation_id)?.ok_or_else(hidden)?;
            if !caller.covers(DEFINERS, owner.path()) {
                return Err(hidden());
            }
            let scale = u32::try_from(ledger.asset_scale).unwrap_or(0);
            let previous = earning_rules::latest(conn, &ledger.id, &category)?;
            let kept = previous
                .as_ref()
                .map_or_else(|| EarningTerms::defaults(scale), terms_of);
            let points_per_hour = match request.points_per_hour {
                Some(amount) => Points::from_amount(amount, scale)
                    .map_err(|e| AppError::invalid_field("points_per_hour", e.to_string()))?,
                None => kept.points_per_hour,
            };
            let campaign = request.campaign.as_ref().map(campaign).transpose()?;
            let now = Utc::now();
            let effective_from = request.effective_from.unwrap_or(now);
            if effective_from < now - Duration::seconds(CLOCK_SKEW_SECONDS) {
                return Err(AppError::invalid_field(
                    "effective_from",
                    "a new version cannot start in the past: that would reprice recorded service",
                ));
            }
            if let Some(previous) = &previous
                && effective_from < previous.effective_from.0
            {
                return Err(AppError::invalid_field(
                    "effective_from",
                    "a new version cannot start before the version it follows",
                ));
            }
            let row = EarningRuleRow {
                id: EarningRuleId::generate(),
                ledger_id: ledger.id,
                category: category.clone(),
                version: previous.as_ref().map_or(1, |p| p.version + 1),
                points_per_hour: points_per_hour.minor(),
                min_unit_minutes: minutes(
                    "min_unit_minutes",
                    request.min_unit_minutes,
                    kept.min_unit_minutes,
                )? as i32,
                max_minutes_per_day: minutes(
                    "max_minutes_per_day",
                    request.max_minutes_per_day,
                    kept.max_minutes_per_day,
                )? as i32,
                max_minutes_per_record: minutes(
                    "max_minutes_per_record",
                    request.max_minutes_per_record,
                    kept.max_minutes_per_record,
                )? as i32,
                multiplier_percent: campaign.map_or(100, |c| c.multiplier_percent as i32),
                campaign_from: campaign.map(|c| UtcTime(c.from)),
                campaign_until: campaign.map(|c| UtcTime(c.until)),
                effective_from: UtcTime(effective_from),
                created_by: caller.user_id,
                created_at: UtcTime(now),
            };
            earning_rules::insert(conn, &row)?;
            let view = EarningRuleView::new(&row, scale);
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: "earning_rule.versioned",
                    entity_type: "earning_rule",
                    entity_id: view.id.to_string(),
                    organisation_id: Some(ledger.organisation_id),
                    before: None,
                    after: Some(snapshot(&view)?),
                },
            )?;
            Ok(view)
        })
        .await
    }

    /// Every version of a ledger's rules, oldest first.
    pub async fn list_earning_rules(
        &self,
        caller: &Caller,
        query: EarningRuleQuery,
    ) -> Result<Page<EarningRuleView>, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let caller = caller.clone();
        let (rows, scale) = self
            .store
            .run(move |conn| {
                let hidden = || AppError::not_found("ledger");
                let ledger = ledgers::get(conn, &query.ledger_id)?.ok_or_else(hidden)?;
                let owner = find(conn, &ledger.organisation_id)?.ok_or_else(hidden)?;
                if !caller.reaches(READERS, owner.path()) {
                    return Err(hidden());
                }
                let rows = earning_rules::page(conn, &ledger.id, query.cursor, limit.probe())?;
                Ok((rows, u32::try_from(ledger.asset_scale).unwrap_or(0)))
            })
            .await?;
        let views = rows
            .iter()
            .map(|r| EarningRuleView::new(r, scale))
            .collect();
        Ok(limit.finish(views, |v| v.id.to_string()))
    }
}
