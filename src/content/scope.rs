//! The one way a query over objects is scoped: live objects of one account, of the
//! types a caller may read. Lists, counts, hydration, search and validation lookups
//! all start from it.

use sea_orm::ConnectionTrait;

use crate::db::Sql;
use crate::error::AppResult;

pub async fn count<C: ConnectionTrait>(conn: &C, sql: &Sql) -> AppResult<u64> {
    let row = conn.query_one_raw(sql.statement()).await?;
    let total: i64 = row.map(|r| r.try_get("", "num")).transpose()?.unwrap_or(0);
    Ok(u64::try_from(total).unwrap_or(0))
}
