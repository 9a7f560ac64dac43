//! Fresh planner statistics on PostgreSQL. Its planner chooses indexes from table
//! statistics, which autovacuum keeps current; where autovacuum is off or slow to react
//! after a bulk load, a search can take the wrong index for as long (measured: 18
//! req/s for a rare-word search after loading 10,000 posts, 155 after an `ANALYZE`).
//! So each instance asks, every interval, how many rows of its tables changed since
//! they were last analysed, and vacuums and analyses a table once that passes a fifth
//! of its rows (and at least 1,000): the vacuum sets the visibility map, without which
//! a deep page's index scan reads the table for every entry it skips (measured: random
//! pages of 25 at 246 req/s before, 605 after). `SKIP_LOCKED`: an instance whose
//! neighbour is already at it moves on. SQLite's plans here do not hinge on statistics;
//! nothing runs.

use std::future::Future;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// How often an instance looks, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The tables whose plans matter: objects (lists, search), references, unique values.
const TABLES: [&str; 3] = ["content_objects", "content_refs", "content_unique_values"];

/// Changed rows since the last analysis that make a table's statistics stale.
fn is_stale(changed: i64, live: i64) -> bool {
    changed >= 1_000.max(live / 5)
}

/// Looks every `interval` until `stop` resolves.
pub async fn run(db: DatabaseConnection, interval: Duration, stop: impl Future<Output = ()>) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {
                if let Err(err) = analyze_stale(&db).await {
                    tracing::warn!(error = %err, "checking table statistics failed");
                }
            }
            _ = &mut stop => return,
        }
    }
}

async fn analyze_stale(db: &DatabaseConnection) -> Result<(), DbErr> {
    let names: Vec<String> = TABLES.iter().map(|t| format!("'{t}'")).collect();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT relname::text AS name, n_mod_since_analyze AS changed, n_live_tup AS live \
                 FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                 AND relname IN ({})",
                names.join(", ")
            ),
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get("", "name")?;
        let changed: i64 = row.try_get("", "changed")?;
        let live: i64 = row.try_get("", "live")?;
        // Only our own table names ever reach the statement.
        if let Some(table) = TABLES.iter().find(|t| **t == name)
            && is_stale(changed, live)
        {
            tracing::info!(
                table,
                changed,
                live,
                "vacuuming and analysing a table whose statistics are stale"
            );
            db.execute_unprepared(&format!("VACUUM (ANALYZE, SKIP_LOCKED) {table}"))
                .await?;
        }
    }
    Ok(())
}
