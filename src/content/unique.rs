//! The index of unique values (`content_unique_values`): one row per account, type,
//! unique property and value, naming the object that holds it, kept in the transaction
//! of every object write. Uniqueness is one indexed lookup whatever the number of
//! objects; the table's primary key refuses a second holder. Values are spelled by
//! `migration::unique_value`, which the migration that built the index used too.

use sea_orm::ConnectionTrait;
use serde_json::{Map, Value};

use crate::content::definitions::TypeModel;
use crate::db::Sql;
use crate::error::AppResult;
use migration::unique_value;

/// The unique properties of `model` that `data` gives a value, with that value's key.
pub fn unique_values(model: &TypeModel, data: &Map<String, Value>) -> Vec<(String, String)> {
    model
        .properties
        .iter()
        .filter(|property| property.unique)
        .filter_map(|property| {
            let value = unique_value(data.get(&property.name)?)?;
            Some((property.name.clone(), value))
        })
        .collect()
}

/// The object (pk) holding `value` of `property`, if any.
pub async fn holder<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    property: &str,
    value: &str,
) -> AppResult<Option<i64>> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT object_pk FROM content_unique_values WHERE account_id = ")
        .bind(account_id.to_owned())
        .push(" AND content_type = ")
        .bind(type_name.to_owned())
        .push(" AND property = ")
        .bind(property.to_owned())
        .push(" AND value = ")
        .bind(value.to_owned());
    let row = conn.query_one_raw(sql.statement()).await?;
    Ok(row
        .map(|row| row.try_get::<i64>("", "object_pk"))
        .transpose()?)
}

/// Makes the index hold exactly the unique values of object `pk` (`data` of `model`).
pub async fn write_unique_values<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    pk: i64,
    model: &TypeModel,
    data: &Map<String, Value>,
) -> AppResult<()> {
    forget(conn, pk).await?;
    let values = unique_values(model, data);
    if values.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "INSERT INTO content_unique_values (account_id, content_type, property, value, object_pk) VALUES ",
    );
    for (i, (property, value)) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(account_id.to_owned())
            .push(", ")
            .bind(model.name.clone())
            .push(", ")
            .bind(property)
            .push(", ")
            .bind(value)
            .push(", ")
            .bind(pk)
            .push(")");
    }
    // A value held already (only by an object that held it before its property was
    // made unique; writes check first) keeps its first holder.
    sql.push(" ON CONFLICT DO NOTHING");
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Drops the index rows of object `pk` (deleted, or about to be indexed again).
pub async fn forget<C: ConnectionTrait>(conn: &C, pk: i64) -> AppResult<()> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM content_unique_values WHERE object_pk = ")
        .bind(pk);
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Drops every index row of one type (before its objects are indexed again).
pub async fn forget_type<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
) -> AppResult<()> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM content_unique_values WHERE account_id = ")
        .bind(account_id.to_owned())
        .push(" AND content_type = ")
        .bind(type_name.to_owned());
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}
