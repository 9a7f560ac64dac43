//! The index of unique values (`content_unique_values`): one row per account, type,
//! unique property, value and holding object, kept in the transaction of every object
//! write (writes of one type are serialised, so two writes never check at once).
//! Whether another object holds a value is one indexed lookup, whatever the number of
//! objects. Every holder is indexed, so values held twice (a property made unique after
//! the fact) stay blocked while any holder keeps them. Values and names are spelled by
//! `migration::{unique_value, unique_property}`, as the migration that built the index
//! spelled them.

use sea_orm::ConnectionTrait;
use serde_json::{Map, Value};

use crate::content::definitions::TypeModel;
use crate::db::Sql;
use crate::error::AppResult;
use migration::{unique_property, unique_value};

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

/// Whether an object other than `self_pk` holds `value` of `property`.
pub async fn held_by_another<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    property: &str,
    value: &str,
    self_pk: Option<i64>,
) -> AppResult<bool> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT object_pk FROM content_unique_values WHERE account_id = ")
        .bind(account_id.to_owned())
        .push(" AND content_type = ")
        .bind(type_name.to_owned())
        .push(" AND property = ")
        .bind(unique_property(property))
        .push(" AND value = ")
        .bind(value.to_owned());
    if let Some(pk) = self_pk {
        sql.push(" AND object_pk <> ").bind(pk);
    }
    sql.push(" LIMIT 1");
    Ok(conn.query_one_raw(sql.statement()).await?.is_some())
}

/// Makes the index hold exactly the unique values of object `pk` (`data` of `model`).
pub async fn write_unique_values<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    pk: i64,
    model: &TypeModel,
    data: &Map<String, Value>,
) -> AppResult<()> {
    // A type without unique properties has no rows (they go when a definition stops
    // declaring them), so its writes cost nothing here.
    if !model.properties.iter().any(|p| p.unique) {
        return Ok(());
    }
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
            .bind(unique_property(&property))
            .push(", ")
            .bind(value)
            .push(", ")
            .bind(pk)
            .push(")");
    }
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
