//! The one way a query over objects is scoped: live objects of one account, of the
//! types a caller may read. Lists, counts, hydration, search (both plans) and the
//! lookups of write validation all start from `push_live`; the ORM queries from
//! `live_select`. Scopes go into the query, never onto its results, so pages and counts
//! are right.

use entity::content_object;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};

use crate::auth::principal::ReadScope;
use crate::db::Sql;
use crate::error::AppResult;

/// The condition "live objects of `account_id`, of `type_name` if given, readable under
/// `scope`", for a `WHERE` over `content_objects` (columns prefixed with `prefix`,
/// e.g. `"o."`). A scope that excludes everything becomes a condition that is false.
pub fn push_live(
    sql: &mut Sql,
    prefix: &str,
    account_id: &str,
    type_name: Option<&str>,
    scope: &ReadScope,
) {
    sql.push(&format!("{prefix}account_id = "))
        .bind(account_id.to_owned())
        .push(&format!(" AND {prefix}deleted_at IS NULL"));
    match (type_name, scope) {
        (Some(type_name), _) if scope.contains(type_name) => {
            sql.push(&format!(" AND {prefix}content_type = "))
                .bind(type_name.to_owned());
        }
        (Some(_), _) => {
            sql.push(" AND 1 = 0");
        }
        (None, scope) => push_in_scope(sql, &format!("{prefix}content_type"), scope),
    }
}

/// ` FROM content_objects WHERE ` for reads of objects by id: on SQLite it names the
/// live-id index, so a lookup of a few ids costs the same whatever the type's size.
pub fn push_from_by_id(sql: &mut Sql) {
    if sql.is_postgres() {
        sql.push(" FROM content_objects WHERE ");
    } else {
        sql.push(" FROM content_objects INDEXED BY ")
            .push(migration::LIVE_ID_INDEX)
            .push(" WHERE ");
    }
}

/// ` AND <column> IN (<the scope's types>)`, nothing for every type, false for none.
/// Definition lists use it on `content_types.name`.
pub fn push_in_scope(sql: &mut Sql, column: &str, scope: &ReadScope) {
    match scope {
        ReadScope::All => {}
        ReadScope::Only(types) if types.is_empty() => {
            sql.push(" AND 1 = 0");
        }
        ReadScope::Only(types) => {
            sql.push(&format!(" AND {column} IN "))
                .bind_list(types.clone());
        }
    }
}

/// Live objects of one account and type, as an ORM query (write paths, which check
/// their caller's permission for the type before they look).
pub fn live_select(account_id: &str, type_name: &str) -> Select<content_object::Entity> {
    content_object::Entity::find()
        .filter(content_object::Column::AccountId.eq(account_id))
        .filter(content_object::Column::ContentType.eq(type_name))
        .filter(content_object::Column::DeletedAt.is_null())
}

/// The `num` column of a counting statement.
pub async fn count<C: ConnectionTrait>(conn: &C, sql: &Sql) -> AppResult<u64> {
    let row = conn.query_one_raw(sql.statement()).await?;
    let total: i64 = row.map(|r| r.try_get("", "num")).transpose()?.unwrap_or(0);
    Ok(u64::try_from(total).unwrap_or(0))
}
