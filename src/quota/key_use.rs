//! Last use and requests per day of every key, tallied in memory as requests are
//! admitted and written with the quota flush (never a write per request).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;

use super::usage::{day_text, window_start};
use crate::db::Sql;

#[derive(Default)]
struct Tally {
    days: BTreeMap<i64, u64>,
    /// Microseconds since the epoch.
    last_used: i64,
}

/// What this instance admitted per key since its last flush.
#[derive(Default)]
pub struct KeyUse {
    tallies: Mutex<HashMap<String, Tally>>,
}

impl KeyUse {
    pub fn note(&self, key_id: &str, day: i64, requests: u64, now: i64) {
        let mut tallies = self.tallies.lock().expect("key tallies");
        // Known keys (every request but a key's first since the flush) allocate nothing.
        let tally = match tallies.get_mut(key_id) {
            Some(tally) => tally,
            None => tallies.entry(key_id.to_owned()).or_default(),
        };
        *tally.days.entry(day).or_default() += requests;
        tally.last_used = tally.last_used.max(now);
    }

    /// Writes the tallies; on failure they wait for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let mut taken = std::mem::take(&mut *self.tallies.lock().expect("key tallies"));
        if taken.is_empty() {
            return Ok(());
        }
        let written = write(db, &mut taken).await;
        if written.is_err() {
            // What was not written joins what was admitted meanwhile.
            let mut tallies = self.tallies.lock().expect("key tallies");
            for (key_id, old) in taken {
                let tally = tallies.entry(key_id).or_default();
                for (day, requests) in old.days {
                    *tally.days.entry(day).or_default() += requests;
                }
                tally.last_used = tally.last_used.max(old.last_used);
            }
        }
        written
    }
}

/// Statement by statement, like the account counts: no write transaction is held across
/// the awaits of a flush, so a flush never keeps another process (an import, a command)
/// waiting on SQLite's write lock. What is written leaves `tallies`; on failure the rest
/// stays there for the next flush (nothing counted twice, nothing lost).
async fn write(db: &DatabaseConnection, tallies: &mut HashMap<String, Tally>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let keys: Vec<String> = tallies.keys().cloned().collect();
    for key_id in keys {
        let tally = tallies.get_mut(&key_id).expect("a key of the tallies");
        while let Some((&day, &requests)) = tally.days.first_key_value() {
            // A key deleted since its requests were admitted gets no rows.
            let mut sql = Sql::new(backend);
            sql.push(
                "INSERT INTO key_usage (key_id, account_id, day, requests) SELECT id, account_id, ",
            )
            .bind(day)
            .push(", ")
            .bind(requests as i64)
            .push(" FROM api_keys WHERE id = ")
            .bind(key_id.as_str())
            .push(
                " ON CONFLICT (key_id, day) \
                     DO UPDATE SET requests = key_usage.requests + excluded.requests",
            );
            db.execute_raw(sql.statement()).await?;
            tally.days.remove(&day);
        }
        let mut sql = Sql::new(backend);
        sql.push("UPDATE api_keys SET last_used_at = ")
            .bind(tally.last_used)
            .push(" WHERE id = ")
            .bind(key_id.as_str())
            .push(" AND (last_used_at IS NULL OR last_used_at < ")
            .bind(tally.last_used)
            .push(")");
        db.execute_raw(sql.statement()).await?;
        tallies.remove(&key_id);
    }
    Ok(())
}

/// Forgets days that have left the window.
pub async fn prune(db: &DatabaseConnection, today: i64) -> Result<(), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("DELETE FROM key_usage WHERE day < ")
        .bind(window_start(today) - 1);
    db.execute_raw(sql.statement()).await.map(drop)
}

#[derive(Debug, Serialize)]
pub struct KeyDay {
    pub day: String,
    pub requests: u64,
}

/// What `contentgate keys usage` prints: the key's requests per day in the window.
pub async fn days_of(
    db: &DatabaseConnection,
    key_id: &str,
    today: i64,
) -> Result<Vec<KeyDay>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT day, requests FROM key_usage WHERE key_id = ")
        .bind(key_id)
        .push(" AND day >= ")
        .bind(window_start(today))
        .push(" ORDER BY day");
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter()
        .map(|row| {
            let day: i64 = row.try_get("", "day")?;
            let requests: i64 = row.try_get("", "requests")?;
            Ok(KeyDay {
                day: day_text(day),
                requests: requests.max(0) as u64,
            })
        })
        .collect()
}

/// Requests per key of the account in the 30-day window (the panel's key cards).
pub async fn totals_of_account(
    db: &DatabaseConnection,
    account_id: &str,
    today: i64,
) -> Result<HashMap<String, u64>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT key_id, CAST(SUM(requests) AS BIGINT) AS total FROM key_usage WHERE account_id = ",
    )
    .bind(account_id)
    .push(" AND day >= ")
    .bind(window_start(today))
    .push(" GROUP BY key_id");
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter()
        .map(|row| {
            let total: i64 = row.try_get("", "total")?;
            Ok((row.try_get("", "key_id")?, total.max(0) as u64))
        })
        .collect()
}
