//! Request counts in the database: one row per account and UTC day, added to by every
//! instance's flushes, so the 30-day window is shared and survives restarts.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;

use super::plans::Plans;
use crate::db::Sql;
use crate::time::format_iso;

/// The rolling window: the current UTC day and the 29 before it.
pub const WINDOW_DAYS: i64 = 30;
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Days since the Unix epoch and seconds into that day, UTC.
pub fn utc_day_and_second() -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    (
        now.div_euclid(SECONDS_PER_DAY),
        now.rem_euclid(SECONDS_PER_DAY),
    )
}

/// The first day still inside the window that ends with `today`.
pub fn window_start(today: i64) -> i64 {
    today - (WINDOW_DAYS - 1)
}

/// Adds `requests` to an account's count for `day`.
pub async fn add(
    db: &DatabaseConnection,
    account_id: &str,
    day: i64,
    requests: u64,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO account_usage (account_id, day, requests) VALUES (")
        .bind(account_id)
        .push(", ")
        .bind(day)
        .push(", ")
        .bind(requests as i64)
        .push(
            ") ON CONFLICT (account_id, day) \
             DO UPDATE SET requests = account_usage.requests + excluded.requests",
        );
    db.execute_raw(sql.statement()).await.map(drop)
}

/// The account's plan name and its counts per day inside the window ending `today`, in
/// one statement. `None` when there is no such account.
pub async fn plan_and_window(
    db: &DatabaseConnection,
    account_id: &str,
    today: i64,
) -> Result<Option<(String, BTreeMap<i64, u64>)>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT a.plan, u.day, u.requests FROM accounts a \
         LEFT JOIN account_usage u ON u.account_id = a.id AND u.day >= ",
    )
    .bind(window_start(today))
    .push(" WHERE a.id = ")
    .bind(account_id);
    let rows = db.query_all_raw(sql.statement()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let plan: String = first.try_get("", "plan")?;
    let mut days = BTreeMap::new();
    for row in &rows {
        let day: Option<i64> = row.try_get("", "day")?;
        let requests: Option<i64> = row.try_get("", "requests")?;
        if let (Some(day), Some(requests)) = (day, requests) {
            days.insert(day, requests.max(0) as u64);
        }
    }
    Ok(Some((plan, days)))
}

/// A day (days since the epoch, UTC) as `2026-12-02`.
pub fn day_text(day: i64) -> String {
    format_iso(day * SECONDS_PER_DAY * 1_000_000)
        .chars()
        .take(10)
        .collect()
}

/// Forgets days that have left every window.
pub async fn prune(db: &DatabaseConnection, today: i64) -> Result<(), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("DELETE FROM account_usage WHERE day < ")
        .bind(window_start(today) - 1);
    db.execute_raw(sql.statement()).await.map(drop)
}

#[derive(Debug, Serialize)]
pub struct DayUsage {
    pub day: String,
    pub requests: u64,
}

/// What `contentgate accounts usage` prints for one account.
#[derive(Debug, Serialize)]
pub struct UsageReport {
    pub account: String,
    pub plan: String,
    /// Requests per 30 days; `None` on a plan without a quota.
    pub limit: Option<u64>,
    pub used: u64,
    pub remaining: Option<u64>,
    pub requests_per_second: Option<f64>,
    pub days: Vec<DayUsage>,
}

/// The account's counts as the database holds them (running instances flush theirs
/// every flush interval).
pub async fn report(
    db: &DatabaseConnection,
    plans: &Plans,
    account: &entity::account::Model,
) -> Result<UsageReport, DbErr> {
    let (today, _) = utc_day_and_second();
    let days = plan_and_window(db, &account.id, today)
        .await?
        .map(|(_, days)| days)
        .unwrap_or_default();
    let used: u64 = days.values().sum();
    let plan = plans.get(&account.plan);
    let limit = plan.as_ref().and_then(|p| p.requests_per_30_days);
    Ok(UsageReport {
        account: account.name.clone(),
        plan: account.plan.clone(),
        limit,
        used,
        remaining: limit.map(|l| l.saturating_sub(used)),
        requests_per_second: plan.and_then(|p| p.requests_per_second),
        days: days
            .into_iter()
            .map(|(day, requests)| DayUsage {
                day: day_text(day),
                requests,
            })
            .collect(),
    })
}
