//! Content: type definitions and objects. Every public function takes the caller's
//! `Principal` and checks it through `Principal::require` before touching data.
//!
//! Layers, lowest first (each uses only those before it): `definitions` (the type
//! model), `scope` and `filter` (SQL), `refs` and `unique` (the relation index and the
//! index of unique values), `objects` (read,
//! write, batch, hydrate), `search`, and `types` (the definition service, which
//! rewrites objects when a definition changes).

pub mod definitions;
pub mod filter;
pub mod internal;
pub mod objects;
pub mod refs;
pub mod scope;
pub mod search;
pub mod type_migration;
pub mod types;
pub mod unique;

pub use definitions::conform::{NUL_MESSAGE, contains_nul};
pub use definitions::models;
pub use objects::{batch, hydrate};

use serde::Serialize;

/// The paging envelope shared by every list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub total_count: u64,
    pub total_pages: u64,
    pub current_page: u64,
    pub count: u64,
    pub data: Vec<T>,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, total_count: u64, page: u64, limit: u64) -> Self {
        Page {
            total_count,
            total_pages: total_count.div_ceil(limit.max(1)),
            current_page: page,
            count: data.len() as u64,
            data,
        }
    }

    /// The same page with its objects in another form (rendered).
    pub fn with_data<U>(self, data: Vec<U>) -> Page<U> {
        Page {
            total_count: self.total_count,
            total_pages: self.total_pages,
            current_page: self.current_page,
            count: data.len() as u64,
            data,
        }
    }
}

/// The size of a value as JSON text, without writing it anywhere.
pub fn json_size(value: &impl Serialize) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Live objects per content type of the principal's account, from the stored counts:
/// the panel's overview, for a principal that reads every type (the operator).
pub async fn object_counts<C: sea_orm::ConnectionTrait>(
    conn: &C,
    principal: &crate::auth::Principal,
) -> crate::error::AppResult<std::collections::BTreeMap<String, i64>> {
    #[derive(sea_orm::FromQueryResult)]
    struct Count {
        content_type: String,
        live: i64,
    }
    principal.type_admin()?;
    let mut sql = crate::db::Sql::new(conn.get_database_backend());
    sql.push("SELECT content_type, live FROM content_counts WHERE account_id = ")
        .bind(principal.account_id().to_owned());
    let rows = <Count as sea_orm::FromQueryResult>::find_by_statement(sql.statement())
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.content_type, row.live))
        .collect())
}
