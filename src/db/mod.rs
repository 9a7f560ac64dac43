//! Database connection (SQLite or PostgreSQL through sea-orm), migrations, and a small
//! parameterised SQL builder for the content queries whose JSON expressions differ
//! between the two backends. User input only ever reaches SQL as a bound value.

pub mod quick;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};

/// The data folder, created if needed, and every file in it readable by their owner
/// alone (0700 and 0600) whatever the umask: it holds every account's content and the
/// server secret.
pub fn secure_data_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// The database file of a SQLite URL (`sqlite://PATH?...`), unless in memory.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Creates the SQLite file 0600 before SQLite does (SQLite gives its `-wal` and `-shm`
/// files the database file's mode), and sets 0600 on any of the three that exist.
/// Creates the database file readable by its owner alone, before any connection opens
/// it: a file descriptor of ours opened and closed on it later would drop every POSIX
/// lock this process holds on it (SQLite's among them), and another client could then
/// delete the WAL under a running server.
fn create_private(path: &Path) -> std::io::Result<()> {
    // An existing file may be open in this process already (a second pool): leave it.
    if path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

/// Makes the database's files (and its WAL and shared memory, once they exist) private,
/// by path: `chmod`, which opens nothing, so it is safe while connections are open.
fn restrict_sqlite_files(path: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

/// Opens the pool and brings the schema up to date. A SQLite database's files are
/// made readable by their owner alone.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let sqlite_file = sqlite_path(url);
    let failed =
        |path: &Path, err: std::io::Error| DbErr::Custom(format!("{}: {err}", path.display()));
    if let Some(path) = &sqlite_file {
        create_private(path)
            .and_then(|()| restrict_sqlite_files(path))
            .map_err(|err| failed(path, err))?;
    }
    let db = open_and_migrate(url).await?;
    if let Some(path) = &sqlite_file {
        restrict_sqlite_files(path).map_err(|err| failed(path, err))?;
    }
    Ok(db)
}

async fn open_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite") { 8 } else { 10 })
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // A ping on every checkout doubles the cost of a one-statement request; only a
        // connection idle long enough to have been dropped by a server or proxy is tested.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged write survives a power cut, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // The pool serves writes and the reads quick reads hand over; 512 KiB of
                // pages each (SQLite's default is 2 MiB) keeps eight of them from holding
                // most of the server's memory, and the OS caches the file anyway.
                .pragma("cache_size", "-512")
        })
        // Every statement is prepared once per connection and run with bound values.
        // PostgreSQL's default plans each run afresh while a generic plan's estimate
        // (made without the values) looks costlier, which for a page (`LIMIT $n`) is
        // always: planning took more time than running (0.4 of 0.7 ms). Our statements'
        // plans follow their indexes (account and type first), not the values bound.
        .map_sqlx_postgres_opts(|opts| opts.options([("plan_cache_mode", "force_generic_plan")]));
    // SQLite connections that were open while a migration changed the schema can keep
    // using the old one ("no such table" on the first write after an upgrade; "trigger
    // already exists" when a migration's statements land on different connections):
    // migrations run on one connection, and the server starts on connections opened
    // after the schema changed.
    let mut single = options.clone();
    single.max_connections(1).min_connections(1);
    // Processes that start together on a new database (instances behind a load balancer,
    // a command run while the server starts) migrate one after the other: a lock file
    // beside the SQLite database, taken before the first connection (switching a new
    // file to WAL from two connections at once fails "database is locked" without
    // waiting), an advisory lock on PostgreSQL (held by the migrating session until it
    // closes).
    let sqlite_lock = match sqlite_path(url) {
        Some(path) => Some(lock_beside(&path).await?),
        None => None,
    };
    let migrating = Database::connect(single).await?;
    let lock_file = match sqlite_lock {
        Some(file) => Some(file),
        None if url.starts_with("postgres") => {
            migrating
                .execute_unprepared("SELECT pg_advisory_lock(726573010)")
                .await?;
            None
        }
        // An in-memory SQLite database belongs to one process.
        None => None,
    };
    // Another process may have migrated while this one waited.
    if !migration::Migrator::get_pending_migrations(&migrating)
        .await?
        .is_empty()
    {
        migration::Migrator::up(&migrating, None).await?;
    }
    migrating.close().await?;
    drop(lock_file);
    Database::connect(options).await
}

/// An exclusive lock on `<database>.migrating`, waited for off the async runtime.
async fn lock_beside(database: &Path) -> Result<std::fs::File, DbErr> {
    let path = database.with_extension("migrating");
    let locked = tokio::task::spawn_blocking(move || {
        let mut open = std::fs::OpenOptions::new();
        open.create(true).truncate(false).write(true).mode(0o600);
        let file = open.open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|err| DbErr::Custom(format!("migration lock: {err}")))?;
    locked.map_err(|err| DbErr::Custom(format!("migration lock: {err}")))
}

/// The pool, and on SQLite the quick reads beside it (`quick`). Everything that takes
/// a `&DatabaseConnection` takes a `&Db`; the read services take a `Db` to read
/// quickly where they can.
#[derive(Clone)]
pub struct Db {
    connection: DatabaseConnection,
    quick: Option<Arc<quick::QuickReads>>,
}

/// What one step of a read statement may cost. SQLite interrupts a statement only
/// between the steps of its program, and one step that evaluates an expression on a
/// stored value (a `LIKE`, a `json_extract` over a large object) takes as long as the
/// value is large: such statements never run in the request's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    /// Lookups by key or id, pages in index order, stored counts, full-text matches:
    /// every step is bounded by the index.
    Indexed,
    /// Filters, ordering by a property, text matched with `LIKE`: run on the pool.
    Evaluating,
}

/// Called after every statement, quick or pooled (sea-orm's metric hook).
pub type MetricCallback = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

impl Db {
    pub fn new(connection: DatabaseConnection) -> Self {
        Db {
            quick: quick::QuickReads::on(&connection, None).map(Arc::new),
            connection,
        }
    }

    /// `callback` sees every statement this `Db` runs, in the pool and quick ones
    /// (the tests' statement counts).
    pub fn set_metric_callback(&mut self, callback: MetricCallback) {
        let pooled = callback.clone();
        self.connection
            .set_metric_callback(move |info| pooled(info));
        self.quick = quick::QuickReads::on(&self.connection, Some(callback)).map(Arc::new);
    }

    /// The rows of a read statement, read in this thread when it is `Indexed` and SQLite
    /// answers it within the quick budget; `None` means "ask the pool".
    pub fn quick<T>(
        &self,
        sql: &Sql,
        kind: ReadKind,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        if kind == ReadKind::Evaluating {
            return None;
        }
        self.quick.as_ref()?.query(sql, map)
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;
    fn deref(&self) -> &DatabaseConnection {
        &self.connection
    }
}

/// The database URL for a data folder when `DATABASE_URL` is not given.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("contentgate.db").display()
    )
}

/// Microseconds since the Unix epoch: the one timestamp representation in storage.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `text` escaped for a `LIKE ... ESCAPE '\'` pattern: its `%`, `_` and `\` match
/// themselves.
pub fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A SQL text with its bound values, numbered the way the backend wants them.
pub struct Sql {
    pub backend: DbBackend,
    pub text: String,
    pub values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// Appends literal SQL written by us, never by a client.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        if self.is_postgres() {
            self.text.push('$');
            self.text.push_str(&self.values.len().to_string());
        } else {
            self.text.push('?');
        }
        self
    }

    /// Appends `(?, ?, ...)` for a non-empty list.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    pub fn statement(&self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text.clone(), self.values.clone())
    }
}

/// Write transactions committed by this process, per PostgreSQL database. PostgreSQL
/// tells other instances of a commit by notification, a moment later; this count
/// tells this process at once, so that a client's next request here sees its own
/// write (`ChangeWatch`). SQLite's `data_version` needs no help.
type CommitCounts = std::sync::Mutex<std::collections::HashMap<String, Arc<AtomicI64>>>;
static LOCAL_COMMITS: std::sync::LazyLock<CommitCounts> =
    std::sync::LazyLock::new(Default::default);

/// This process's count of commits to the PostgreSQL database behind `db` (`None` on
/// SQLite): one per database, whichever pool reaches it.
pub fn local_commits(db: &DatabaseConnection) -> Option<Arc<AtomicI64>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let options = db.get_postgres_connection_pool().connect_options();
    let name = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let mut counts = LOCAL_COMMITS.lock().ok()?;
    Some(counts.entry(name).or_default().clone())
}

/// Commits a write transaction begun on `db`; every transaction of the services ends
/// here (`tests/layering.rs`).
pub async fn commit(db: &DatabaseConnection, txn: DatabaseTransaction) -> Result<(), DbErr> {
    let committed = txn.commit().await;
    // Counted even when the answer is an error: a commit whose answer was lost with
    // the connection may have landed.
    if let Some(count) = local_commits(db) {
        count.fetch_add(1, Ordering::SeqCst);
    }
    committed
}

/// Starts a write transaction. On SQLite the write lock is taken at `BEGIN IMMEDIATE`,
/// so concurrent writers wait their turn (busy timeout) instead of failing when a
/// read snapshot can no longer be upgraded to a write.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Serialises object writes of one content type of one account on PostgreSQL (an
/// advisory lock held until the transaction ends), so that check-then-write steps
/// such as id and unique-value checks cannot interleave. SQLite writes are already
/// serialised by `begin_write`.
pub async fn lock_type(
    txn: &DatabaseTransaction,
    account_id: &str,
    content_type: &str,
) -> Result<(), DbErr> {
    lock_name(txn, &format!("{account_id}/{content_type}")).await
}

/// Serialises transactions that name the same lock on PostgreSQL (held until the
/// transaction ends); SQLite's `begin_write` already serialises every writer.
pub async fn lock_name(txn: &DatabaseTransaction, name: &str) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("SELECT pg_advisory_xact_lock(hashtextextended(")
            .bind(name)
            .push(", 0))");
        txn.execute_raw(sql.statement()).await?;
    }
    Ok(())
}
