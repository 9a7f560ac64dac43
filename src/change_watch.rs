//! Whether anything at all has been committed to the SQLite database since a given
//! moment, by any connection of any process (another instance, the command line),
//! answered in the calling thread without a trip through the pool: `PRAGMA
//! data_version` on a connection of our own that never writes. On PostgreSQL there is
//! no such cheap question, and every answer is "unknown".

use std::sync::Mutex;

use sea_orm::{DatabaseConnection, DbBackend};

pub struct ChangeWatch {
    connection: Option<Mutex<rusqlite::Connection>>,
}

impl ChangeWatch {
    /// A watch on the database file behind `db`; an unknowing one when `db` is not a
    /// SQLite file that this process can open and recognise as ours.
    pub fn on(db: &DatabaseConnection) -> Self {
        let connection = (db.get_database_backend() == DbBackend::Sqlite)
            .then(|| {
                let options = db.get_sqlite_connection_pool().connect_options();
                crate::db::quick::open_reader(options.get_filename())
            })
            .flatten();
        if connection.is_none() && db.get_database_backend() == DbBackend::Sqlite {
            tracing::warn!(
                "no change watch on this SQLite database; every request is checked against it"
            );
        }
        ChangeWatch {
            connection: connection.map(Mutex::new),
        }
    }

    /// A value that differs from every earlier one once anything has been committed;
    /// `None` when unknown, which callers treat as "changed".
    pub fn version(&self) -> Option<i64> {
        let connection = self.connection.as_ref()?.lock().ok()?;
        connection
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .ok()
    }
}
