//! Short reads answered in the calling thread. The pool's SQLite driver runs every
//! statement on a worker thread of its own and hands each row back across a channel;
//! for the statements of a page (a few index lookups and a few dozen rows) those hand-
//! offs cost more than SQLite's own work (a third of the time under load, by `perf`).
//! So reads first run here, on read-only connections of our own, with a budget of
//! SQLite VM steps: a statement that would hold a runtime thread longer than about a
//! millisecond is interrupted and runs on the pool instead, as every statement did
//! before. Writes never come here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rusqlite::types::Value as SqliteValue;
use sea_orm::{DatabaseConnection, DbBackend, Value};

use super::{MetricCallback, Sql};

/// SQLite VM steps between two calls of the progress handler.
const STEPS_PER_TICK: i32 = 1_000;
/// Ticks a statement may take here before it is handed to the pool (about 50,000
/// steps: every page, count and lookup of ordinary size; not a scan of a large type).
const TICKS_PER_STATEMENT: u32 = 50;
/// Time a statement may take here, whatever its steps: a second guard, since steps
/// differ in cost (callers send only statements whose steps are bounded, `ReadKind`).
const TIME_PER_STATEMENT: Duration = Duration::from_millis(2);
/// Idle connections kept; more are opened under load and closed when given back.
const MAX_IDLE: usize = 16;
const PREPARED_PER_CONNECTION: usize = 64;

pub struct QuickReads {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    metric: Option<MetricCallback>,
}

struct Reader {
    connection: rusqlite::Connection,
    budget: Arc<Budget>,
}

/// What the running statement has left; the progress handler interrupts once either
/// runs out.
struct Budget {
    ticks: AtomicU32,
    deadline: Mutex<Instant>,
}

impl Budget {
    fn renew(&self) {
        self.ticks.store(TICKS_PER_STATEMENT, Ordering::Relaxed);
        if let Ok(mut deadline) = self.deadline.lock() {
            *deadline = Instant::now() + TIME_PER_STATEMENT;
        }
    }

    /// One tick; true when the statement must stop.
    fn spent(&self) -> bool {
        let out_of_ticks = self
            .ticks
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| t.checked_sub(1))
            .is_err();
        out_of_ticks || self.deadline.lock().map_or(true, |d| Instant::now() > *d)
    }
}

impl QuickReads {
    /// Quick reads of the SQLite file behind `db`; `None` for PostgreSQL and for a
    /// database this process cannot open a second time (in memory).
    pub fn on(db: &DatabaseConnection, metric: Option<MetricCallback>) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let path = db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_owned();
        let reader = open(&path)?;
        Some(QuickReads {
            path,
            idle: Mutex::new(vec![reader]),
            metric,
        })
    }

    /// The rows of `sql` mapped by `map`, read in this thread; `None` when it could
    /// not be answered here (over budget, a value we do not bind here, any error),
    /// and the caller runs it on the pool.
    pub fn query<T>(
        &self,
        sql: &Sql,
        mut map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let params: Vec<SqliteValue> = sql.values.iter().map(bindable).collect::<Option<_>>()?;
        let reader = self.take()?;
        reader.budget.renew();
        let started = Instant::now();
        let rows = (|| {
            let mut statement = reader.connection.prepare_cached(&sql.text)?;
            let rows = statement.query_map(rusqlite::params_from_iter(params), |row| map(row))?;
            rows.collect::<rusqlite::Result<Vec<T>>>()
        })();
        self.give_back(reader);
        match rows {
            Ok(rows) => {
                // Reported like the pool's statements; one handed to the pool is
                // reported there, once.
                if let Some(metric) = &self.metric {
                    metric(&sea_orm::metric::Info {
                        elapsed: started.elapsed(),
                        statement: &sql.statement(),
                        failed: false,
                    });
                }
                Some(rows)
            }
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                None
            }
            Err(err) => {
                tracing::debug!(error = %err, "quick read refused; the pool reads it");
                None
            }
        }
    }

    fn take(&self) -> Option<Reader> {
        let idle = self.idle.lock().ok()?.pop();
        idle.or_else(|| open(&self.path))
    }

    fn give_back(&self, reader: Reader) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(reader);
        }
    }
}

/// A connection of our own to the server's SQLite file, that can never write (the quick
/// reads, and `change_watch`'s commit counter). `None` unless `path` is an existing
/// file holding our schema: ":memory:" or a URI would open some other database.
pub fn open_reader(path: &Path) -> Option<rusqlite::Connection> {
    if !path.is_file() {
        return None;
    }
    // Read-write flags because a WAL reader may need to create the shared-memory file;
    // `query_only` makes every write on this connection fail.
    let connection = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    connection.pragma_update(None, "query_only", true).ok()?;
    // The same database, migrated: it has our accounts table.
    let ours: bool = connection
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'",
            [],
            |row| row.get(0),
        )
        .ok()?;
    ours.then_some(connection)
}

fn open(path: &Path) -> Option<Reader> {
    let connection = open_reader(path)?;
    // A busy database is the pool's to wait for, with its timeout.
    connection.busy_timeout(Duration::ZERO).ok()?;
    // Without the planner's stability guarantee a statement whose plan looked at a
    // bound value (a page's `LIMIT ?`, say) is compiled again at every execution: 6% of
    // a rendered GraphQL page's CPU went to re-preparing its page statement.
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .ok()?;
    connection.set_prepared_statement_cache_capacity(PREPARED_PER_CONNECTION);
    let budget = Arc::new(Budget {
        ticks: AtomicU32::new(TICKS_PER_STATEMENT),
        deadline: Mutex::new(Instant::now() + TIME_PER_STATEMENT),
    });
    let left = budget.clone();
    // The handler's true interrupts the statement.
    connection
        .progress_handler(STEPS_PER_TICK, Some(move || left.spent()))
        .ok()?;
    Some(Reader { connection, budget })
}

/// A bound value as SQLite takes it; `None` for kinds our read statements never bind,
/// which leaves the statement to the pool.
fn bindable(value: &Value) -> Option<SqliteValue> {
    Some(match value {
        Value::Bool(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::TinyInt(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::SmallInt(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::Int(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::BigInt(v) => v.map_or(SqliteValue::Null, SqliteValue::Integer),
        Value::TinyUnsigned(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::SmallUnsigned(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::Unsigned(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Integer(v.into())),
        Value::Double(v) => v.map_or(SqliteValue::Null, SqliteValue::Real),
        Value::Float(v) => v.map_or(SqliteValue::Null, |v| SqliteValue::Real(v.into())),
        Value::String(v) => v
            .as_ref()
            .map_or(SqliteValue::Null, |v| SqliteValue::Text(v.clone())),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database(dir: &Path) -> DatabaseConnection {
        use sea_orm::ConnectionTrait;
        let url = format!("sqlite://{}?mode=rwc", dir.join("quick.db").display());
        let db = crate::db::connect(&url).await.expect("open");
        db.execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .expect("table");
        db.execute_unprepared("INSERT INTO t VALUES (1), (2)")
            .await
            .expect("rows");
        db
    }

    fn sql(text: &str) -> Sql {
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push(text);
        sql
    }

    #[tokio::test]
    async fn short_reads_are_answered_and_long_ones_left_to_the_pool() {
        use sea_orm::ConnectionTrait;

        let dir = tempfile::tempdir().expect("dir");
        let db = database(dir.path()).await;
        let quick = QuickReads::on(&db, None).expect("a SQLite file");
        let mut short = sql("SELECT n FROM t WHERE n >= ");
        short.bind(2_i64);
        assert_eq!(
            quick.query(&short, |row| row.get::<_, i64>(0)),
            Some(vec![2])
        );
        // A million steps is far past the budget: interrupted, for the pool to run.
        let long = sql(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000) \
             SELECT COUNT(*) FROM c",
        );
        assert_eq!(quick.query(&long, |row| row.get::<_, i64>(0)), None);
        // A few steps that each take long are stopped by the clock once one ends.
        let slow = sql(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) \
             SELECT MAX(LENGTH(printf('%.*c', 400000 + i, 'x'))) FROM c",
        );
        assert_eq!(quick.query(&slow, |row| row.get::<_, i64>(0)), None);
        // The interrupted connection serves the next statement.
        assert_eq!(
            quick.query(&short, |row| row.get::<_, i64>(0)),
            Some(vec![2])
        );
        // Writes are refused and change nothing.
        let write = sql("INSERT INTO t VALUES (3) RETURNING n");
        assert_eq!(quick.query(&write, |row| row.get::<_, i64>(0)), None);
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT n FROM t",
            ))
            .await
            .expect("read");
        assert_eq!(rows.len(), 2);
    }
}
