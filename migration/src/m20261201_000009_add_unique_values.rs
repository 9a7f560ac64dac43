//! Unique properties get an index of their own: one row per account, content type,
//! property, value and the object that holds it, written in the same transaction as the
//! object. A write asks this index whether another object holds a value (one indexed
//! lookup, whatever the number of objects) instead of scanning the type's objects.
//!
//! Existing objects are indexed here, every holder of a value included: a property
//! made unique after the fact may have values held twice, and each holder keeps
//! blocking that value for everybody else, as the scan did.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContentUniqueValues {
    Table,
    AccountId,
    ContentType,
    Property,
    Value,
    ObjectPk,
}

#[derive(DeriveIden)]
enum ContentObjects {
    Table,
    Pk,
}

/// Texts longer than this are kept by their digest (index entries stay small, within
/// PostgreSQL's limit for a b-tree row).
const MAX_KEPT_TEXT: usize = 200;

fn kept_text(text: String) -> String {
    if text.len() <= MAX_KEPT_TEXT {
        text
    } else {
        format!("h:{:x}", Sha256::digest(text.as_bytes()))
    }
}

/// How a unique property's name is kept in the index (long names by digest).
pub fn unique_property(name: &str) -> String {
    kept_text(name.to_owned())
}

/// How a value of a unique property is kept in the index: `None` for values that
/// uniqueness does not apply to (null, the empty string, lists, objects). The server's
/// write checks use the same function.
pub fn unique_value(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) if !text.is_empty() => format!("s:{text}"),
        // Numbers compare by value: 1 and 1.0 are one value, and so are 0 and -0.
        // Integers are spelled exactly (ids above 2^53 stay distinct).
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(integer), _, _) => format!("n:{integer}"),
            (None, Some(integer), _) => format!("n:{integer}"),
            // `+ 0.0` turns -0 into 0.
            (None, None, Some(float)) => format!("n:{}", float + 0.0),
            (None, None, None) => return None,
        },
        Value::Bool(flag) => format!("b:{flag}"),
        _ => return None,
    };
    Some(kept_text(text))
}

/// The unique properties a stored definition declares (with a schema property).
fn unique_properties(definition: &Value) -> Vec<String> {
    let schema = definition.pointer("/schemaDefinition/allOf/1/properties");
    let configs = definition.pointer("/metaDefinition/propertiesConfig");
    configs
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, config)| {
            config.get("unique").and_then(Value::as_bool) == Some(true)
                && schema.and_then(|s| s.get(name.as_str())).is_some()
        })
        .map(|(name, _)| name.clone())
        .collect()
}

async fn index_existing(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let types = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT account_id, name, CAST(definition AS TEXT) AS definition FROM content_types",
        ))
        .await?;
    for row in types {
        let account_id: String = row.try_get("", "account_id")?;
        let type_name: String = row.try_get("", "name")?;
        let definition: String = row.try_get("", "definition")?;
        let definition: Value = serde_json::from_str(&definition).unwrap_or_default();
        let properties = unique_properties(&definition);
        if properties.is_empty() {
            continue;
        }
        let objects = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm_migration::sea_orm::DbBackend::Postgres => {
                        "SELECT pk, CAST(data AS TEXT) AS data FROM content_objects \
                         WHERE account_id = $1 AND content_type = $2 AND deleted_at IS NULL \
                         ORDER BY pk"
                    }
                    _ => {
                        "SELECT pk, CAST(data AS TEXT) AS data FROM content_objects \
                         WHERE account_id = ? AND content_type = ? AND deleted_at IS NULL \
                         ORDER BY pk"
                    }
                },
                [account_id.clone().into(), type_name.clone().into()],
            ))
            .await?;
        let new_insert = || {
            Query::insert()
                .into_table(ContentUniqueValues::Table)
                .columns([
                    ContentUniqueValues::AccountId,
                    ContentUniqueValues::ContentType,
                    ContentUniqueValues::Property,
                    ContentUniqueValues::Value,
                    ContentUniqueValues::ObjectPk,
                ])
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .to_owned()
        };
        let mut insert = new_insert();
        let mut rows = 0;
        for object in objects {
            let pk: i64 = object.try_get("", "pk")?;
            let data: String = object.try_get("", "data")?;
            let data: Value = serde_json::from_str(&data).unwrap_or_default();
            for property in &properties {
                if let Some(value) = data.get(property).and_then(unique_value) {
                    insert.values_panic([
                        account_id.clone().into(),
                        type_name.clone().into(),
                        unique_property(property).into(),
                        value.into(),
                        pk.into(),
                    ]);
                    rows += 1;
                }
            }
            if rows >= 500 {
                manager
                    .exec_stmt(std::mem::replace(&mut insert, new_insert()))
                    .await?;
                rows = 0;
            }
        }
        if rows > 0 {
            manager.exec_stmt(insert).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContentUniqueValues::Table)
                    .col(string(ContentUniqueValues::AccountId))
                    .col(string(ContentUniqueValues::ContentType))
                    .col(string(ContentUniqueValues::Property))
                    .col(string(ContentUniqueValues::Value))
                    .col(big_integer(ContentUniqueValues::ObjectPk))
                    .primary_key(
                        Index::create()
                            .col(ContentUniqueValues::AccountId)
                            .col(ContentUniqueValues::ContentType)
                            .col(ContentUniqueValues::Property)
                            .col(ContentUniqueValues::Value)
                            .col(ContentUniqueValues::ObjectPk),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContentUniqueValues::Table, ContentUniqueValues::ObjectPk)
                            .to(ContentObjects::Table, ContentObjects::Pk)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_content_unique_values_object")
                    .table(ContentUniqueValues::Table)
                    .col(ContentUniqueValues::ObjectPk)
                    .to_owned(),
            )
            .await?;
        index_existing(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContentUniqueValues::Table).to_owned())
            .await
    }
}
