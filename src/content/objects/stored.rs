//! Object rows as read for answers: the columns a rendering needs, with `data` as the
//! JSON text it was stored as (rendering copies it; nothing parses it into a tree).

use sea_orm::ConnectionTrait;

use crate::db::{Db, ReadKind, Sql};
use crate::error::AppResult;

pub struct StoredObject {
    pub pk: i64,
    pub content_type: String,
    pub object_id: String,
    /// The properties as JSON text: an object, written by this server.
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i32,
}

/// The columns of a `StoredObject`, for `SELECT {COLUMNS} FROM content_objects`, in
/// this order (quick reads take them by position).
pub const COLUMNS: &str =
    "pk, content_type, object_id, data, created_at, updated_at, deleted_at, version";

/// The rows of `sql` (which selects `COLUMNS`), read quickly where SQLite can.
pub async fn fetch(db: &Db, sql: &Sql, kind: ReadKind) -> AppResult<Vec<StoredObject>> {
    Ok(fetch_counted(db, sql, kind, false).await?.0)
}

/// The rows of `sql` (which selects `COLUMNS`, then a `num` column when `counted`),
/// read quickly where SQLite can, with the first row's `num`.
pub async fn fetch_counted(
    db: &Db,
    sql: &Sql,
    kind: ReadKind,
    counted: bool,
) -> AppResult<(Vec<StoredObject>, Option<u64>)> {
    let to_count = |n: i64| u64::try_from(n).unwrap_or(0);
    let quick = db.quick(sql, kind, |row| {
        let num: Option<i64> = if counted { row.get(8)? } else { None };
        Ok((
            StoredObject {
                pk: row.get(0)?,
                content_type: row.get(1)?,
                object_id: row.get(2)?,
                data: row.get(3)?,
                created_at: row.get(4)?,
                updated_at: row.get(5)?,
                deleted_at: row.get(6)?,
                version: row.get(7)?,
            },
            num,
        ))
    });
    let rows = match quick {
        Some(rows) => rows,
        None => db
            .query_all_raw(sql.statement())
            .await?
            .iter()
            .map(|row| {
                let num: Option<i64> = if counted {
                    row.try_get("", "num")?
                } else {
                    None
                };
                Ok((
                    StoredObject {
                        pk: row.try_get("", "pk")?,
                        content_type: row.try_get("", "content_type")?,
                        object_id: row.try_get("", "object_id")?,
                        // PostgreSQL keeps `jsonb`, whose text has other spacing: one spelling.
                        data: row.try_get::<serde_json::Value>("", "data")?.to_string(),
                        created_at: row.try_get("", "created_at")?,
                        updated_at: row.try_get("", "updated_at")?,
                        deleted_at: row.try_get("", "deleted_at")?,
                        version: row.try_get("", "version")?,
                    },
                    num,
                ))
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()?,
    };
    let total = rows.first().and_then(|(_, num)| *num).map(to_count);
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

/// The `num` column of a counting statement, read quickly where SQLite can.
pub async fn count(db: &Db, sql: &Sql, kind: ReadKind) -> AppResult<u64> {
    match db.quick(sql, kind, |row| row.get::<_, i64>("num")) {
        Some(rows) => Ok(rows.first().map_or(0, |n| u64::try_from(*n).unwrap_or(0))),
        None => crate::content::scope::count(&**db, sql).await,
    }
}
