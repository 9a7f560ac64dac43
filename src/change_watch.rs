//! Whether anything a key's principal is read from has been committed since a given
//! moment, by any connection of any process (another instance, the command line),
//! answered in the calling thread without a statement.
//!
//! SQLite: `PRAGMA data_version` on a connection of our own that never writes (any
//! commit at all counts). PostgreSQL: a counter bumped by every notification on
//! `migration::PRINCIPAL_CHANNEL`, which triggers send when a commit changes accounts,
//! keys, rules or content revisions; it arrives a moment after the commit (normally
//! well under a millisecond; this process's own commits count at once, through
//! `db::commit`), and while the listening connection is down, or the
//! instance's own pings stop coming back through it, every answer is "unknown".

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sea_orm::{DatabaseConnection, DbBackend};

pub struct ChangeWatch {
    source: Source,
}

enum Source {
    Sqlite(Mutex<rusqlite::Connection>),
    /// What the listener heard, this process's own commits, the listening task.
    Postgres(Arc<Notifications>, Arc<AtomicI64>, tokio::task::AbortHandle),
    Unknowing,
}

impl Drop for ChangeWatch {
    fn drop(&mut self) {
        if let Source::Postgres(_, _, listener) = &self.source {
            listener.abort();
        }
    }
}

/// What the listening task has seen.
struct Notifications {
    /// Bumped by every change notification, loss and new start.
    count: AtomicI64,
    listening: AtomicBool,
    /// When the last of our own pings that came back was sent, in milliseconds since
    /// `started`: notifications arrive in commit order, so everything committed before
    /// then has been heard, however late the listener runs.
    last_echo: AtomicU64,
    started: Instant,
    /// Names this process's pings among other instances' on the same channel.
    echo_prefix: String,
}

/// How often an instance sends itself a ping through the database, and how old the
/// last echo may be before the notifications are taken for lost: a connection that is
/// up but hears nothing (behind a pooler in transaction mode, for instance) must not
/// keep stale principals in service.
const PING_EVERY: Duration = Duration::from_secs(1);
const ECHO_WITHIN: Duration = Duration::from_secs(3);

impl Notifications {
    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn hears(&self) -> bool {
        let silent = self
            .millis()
            .saturating_sub(self.last_echo.load(Ordering::SeqCst));
        self.listening.load(Ordering::SeqCst) && silent <= ECHO_WITHIN.as_millis() as u64
    }

    /// The sending time of one of our own pings, from its payload.
    fn own_echo(&self, payload: &str) -> Option<u64> {
        payload.strip_prefix(&self.echo_prefix)?.parse().ok()
    }

    /// Every notification sent while we were not hearing any is gone.
    fn lost(&self) {
        self.listening.store(false, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

impl ChangeWatch {
    /// A watch on the database behind `db`; an unknowing one when it is a SQLite
    /// database this process cannot open and recognise as ours, or PostgreSQL outside
    /// a Tokio runtime.
    pub fn on(db: &DatabaseConnection) -> Self {
        let source = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let options = db.get_sqlite_connection_pool().connect_options();
                crate::db::quick::open_reader(options.get_filename())
                    .map(|connection| Source::Sqlite(Mutex::new(connection)))
            }
            DbBackend::Postgres => tokio::runtime::Handle::try_current().ok().map(|runtime| {
                let notifications = Arc::new(Notifications {
                    count: AtomicI64::new(0),
                    listening: AtomicBool::new(false),
                    last_echo: AtomicU64::new(0),
                    started: Instant::now(),
                    echo_prefix: format!("{ECHO}{}:", uuid::Uuid::new_v4().simple()),
                });
                let options = db.get_postgres_connection_pool().connect_options();
                let task = runtime.spawn(listen((*options).clone(), notifications.clone()));
                let own = crate::db::local_commits(db).unwrap_or_default();
                Source::Postgres(notifications, own, task.abort_handle())
            }),
            _ => None,
        };
        if source.is_none() {
            tracing::warn!("no change watch on this database; every request is checked against it");
        }
        ChangeWatch {
            source: source.unwrap_or(Source::Unknowing),
        }
    }

    /// A value that differs from every earlier one once anything has been committed;
    /// `None` when unknown, which callers treat as "changed".
    pub fn version(&self) -> Option<i64> {
        match &self.source {
            // Prepared once per connection, not parsed again on every request.
            Source::Sqlite(connection) => connection
                .lock()
                .ok()?
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                .ok(),
            Source::Postgres(notifications, own, _) => {
                // Read on both sides of "hearing", as a seqlock is: a loss or a resume
                // between the reads (each bumps the count) makes the answer unknown.
                // This process's own commits count at once.
                let own = own.load(Ordering::SeqCst);
                let before = notifications.count.load(Ordering::SeqCst);
                let hears = notifications.hears();
                let after = notifications.count.load(Ordering::SeqCst);
                (hears && before == after).then_some(before + own)
            }
            Source::Unknowing => None,
        }
    }

    /// Waits (at most `limit`) until the watch can tell, so that a server starting up
    /// reuses principals from its first requests on.
    pub async fn ready(&self, limit: Duration) {
        let Source::Postgres(notifications, ..) = &self.source else {
            return;
        };
        let started = std::time::Instant::now();
        while !notifications.hears() && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Listens on a connection of its own (not one of the pool's) for as long as the
/// watch lives, and pings itself on another, reconnecting after a loss or when its
/// pings stop coming back (a half-open socket blocks a listener without an error).
async fn listen(options: PgConnectOptions, seen: Arc<Notifications>) {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy_with(options);
    loop {
        let failure = tokio::select! {
            failure = receive(&pool, &seen) => failure,
            failure = ping(&pool, &seen) => failure,
        };
        seen.lost();
        tracing::warn!(
            error = %failure,
            "no change notifications; every key is looked up until they are back"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn receive(pool: &PgPool, seen: &Notifications) -> sea_orm::sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(err) => return err,
    };
    if let Err(err) = listener.listen(migration::PRINCIPAL_CHANNEL).await {
        return err;
    }
    seen.count.fetch_add(1, Ordering::SeqCst);
    // Listening from now on is as good as an echo now.
    seen.last_echo.store(seen.millis(), Ordering::SeqCst);
    seen.listening.store(true, Ordering::SeqCst);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) if notification.payload().starts_with(ECHO) => {
                // Another instance's pings say nothing about our connection.
                let Some(sent) = seen.own_echo(notification.payload()) else {
                    continue;
                };
                if !seen.hears() {
                    // Heard nothing for a while: what was sent meanwhile is gone.
                    seen.count.fetch_add(1, Ordering::SeqCst);
                }
                seen.last_echo.fetch_max(sent, Ordering::SeqCst);
            }
            Ok(Some(_)) => {
                seen.count.fetch_add(1, Ordering::SeqCst);
            }
            Ok(None) => return sea_orm::sqlx::Error::PoolClosed,
            Err(err) => return err,
        }
    }
}

/// The start of our pings' payloads, `echo:<instance>:<sent at>` (changes notify with
/// an empty one).
const ECHO: &str = "echo:";

async fn ping(pool: &PgPool, seen: &Notifications) -> sea_orm::sqlx::Error {
    loop {
        if seen.listening.load(Ordering::SeqCst) {
            let now = seen.millis();
            if now.saturating_sub(seen.last_echo.load(Ordering::SeqCst))
                > 2 * ECHO_WITHIN.as_millis() as u64
            {
                return sea_orm::sqlx::Error::Protocol("our pings stopped coming back".into());
            }
            let payload = format!("{}{now}", seen.echo_prefix);
            if let Err(err) = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                .bind(migration::PRINCIPAL_CHANNEL)
                .bind(payload)
                .execute(pool)
                .await
            {
                return err;
            }
        }
        tokio::time::sleep(PING_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(started_ago: Duration, last_echo: u64) -> Notifications {
        Notifications {
            count: AtomicI64::new(0),
            listening: AtomicBool::new(true),
            last_echo: AtomicU64::new(last_echo),
            started: Instant::now() - started_ago,
            echo_prefix: "echo:ours:".into(),
        }
    }

    #[test]
    fn only_our_own_pings_say_when_we_last_heard() {
        let seen = heard(Duration::ZERO, 0);
        assert_eq!(seen.own_echo("echo:ours:1234"), Some(1234));
        assert_eq!(seen.own_echo("echo:theirs:1234"), None);
        assert_eq!(seen.own_echo(""), None);
        assert_eq!(seen.own_echo("echo:ours:"), None);
    }

    #[test]
    fn a_listener_whose_last_ping_was_sent_long_ago_does_not_hear() {
        // A ping that came back just now but was sent 10 s ago means the listener
        // runs 10 s late: what it has not yet delivered may include a revocation.
        let late = heard(Duration::from_secs(20), 10_000);
        assert!(!late.hears());
        let current = heard(Duration::from_secs(20), 19_000);
        assert!(current.hears());
        current.lost();
        assert!(!current.hears());
    }
}
