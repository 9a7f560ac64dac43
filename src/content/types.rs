//! Content type definitions: list, get, create, update (migrating existing objects) and
//! delete, for one account and one caller.

use entity::{content_object, content_type, key_rule};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};

use super::Page;
use super::definitions::TypeModel;
use super::definitions::models::{existing, load};
use super::definitions::validate::{model_of, validate};
use super::scope::{count, live_select, push_in_scope};
use super::type_migration::migrate_objects;
use crate::auth::Principal;
use crate::db::{Sql, now_micros};
use crate::error::{AppError, AppResult};
use crate::time::format_definition;

pub const MAX_DEFINITION_LIMIT: u64 = 10_000;

/// Definition writes of an account take this lock (with `db::lock_type`): they read all
/// definitions, rewrite objects, and bump the schema revision.
pub(super) const DEFINITIONS_LOCK: &str = "#definitions";

#[derive(Debug, Default)]
pub struct ListParams {
    pub page: u64,
    pub limit: u64,
    pub order_by: Option<String>,
    pub descending: bool,
    pub internal: Option<bool>,
    pub name: Option<String>,
    pub label: Option<String>,
    pub names: Vec<String>,
}

/// A stored definition as clients read it.
pub fn render(model: &content_type::Model) -> Value {
    let mut body = model.definition.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("id".into(), json!(model.id));
        object.insert(
            "createdAt".into(),
            json!(format_definition(model.created_at)),
        );
        object.insert(
            "updatedAt".into(),
            json!(format_definition(model.updated_at)),
        );
        object.insert("deletedAt".into(), Value::Null);
    }
    body
}

fn require_visible(principal: &Principal, name: &str) -> AppResult<()> {
    if principal.definition_scope().contains(name) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Names one definition list may ask for.
pub const MAX_NAMES: usize = 1000;

pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    params: &ListParams,
) -> AppResult<Page<Value>> {
    if params.names.len() > MAX_NAMES {
        return Err(AppError::field(
            "names",
            format!("At most {MAX_NAMES} names can be asked for at once"),
        ));
    }
    let order_column = match params.order_by.as_deref().unwrap_or("name") {
        "name" => "name",
        "label" => "label",
        "id" => "id",
        "createdAt" => "created_at",
        "updatedAt" => "updated_at",
        _ => {
            return Err(AppError::field(
                "order_by",
                "Must be one of name, id, createdAt, updatedAt, label",
            ));
        }
    };
    let where_clause = |sql: &mut Sql| {
        sql.push(" FROM content_types WHERE account_id = ")
            .bind(principal.account_id().to_owned());
        push_in_scope(sql, "name", &principal.definition_scope());
        if let Some(internal) = params.internal {
            sql.push(" AND is_internal = ").bind(internal);
        }
        for (column, needle) in [("name", &params.name), ("label", &params.label)] {
            if let Some(needle) = needle.as_deref().filter(|n| !n.is_empty()) {
                let pattern = format!("%{}%", crate::db::like_escape(&needle.to_lowercase()));
                sql.push(&format!(" AND LOWER({column}) LIKE "))
                    .bind(pattern)
                    .push(" ESCAPE '\\'");
            }
        }
        if !params.names.is_empty() {
            sql.push(" AND name IN ").bind_list(params.names.clone());
        }
    };
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS num");
    where_clause(&mut sql);
    let total = count(db, &sql).await?;

    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT *");
    where_clause(&mut sql);
    let direction = if params.descending { "DESC" } else { "ASC" };
    sql.push(&format!(
        " ORDER BY {order_column} {direction}, id {direction} LIMIT "
    ))
    .bind(params.limit as i64)
    .push(" OFFSET ")
    .bind(((params.page - 1) * params.limit) as i64);
    let rows = content_type::Model::find_by_statement(sql.statement())
        .all(db)
        .await?;
    Ok(Page::new(
        rows.iter().map(render).collect(),
        total,
        params.page,
        params.limit,
    ))
}

pub async fn get(db: &DatabaseConnection, principal: &Principal, name: &str) -> AppResult<Value> {
    require_visible(principal, name)?;
    let (row, _) = load(db, principal.account_id(), name)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(render(&row))
}

/// Checks that a set of type models still makes a valid API (the GraphQL schema);
/// passed in by the caller so that this service does not depend on the GraphQL layer.
pub type SchemaCheck = fn(&[TypeModel], Option<&TypeModel>) -> Result<(), String>;

fn check_schema(
    check: SchemaCheck,
    rows: &[content_type::Model],
    changed: &TypeModel,
    before: Option<&TypeModel>,
) -> AppResult<()> {
    let mut models: Vec<TypeModel> = rows
        .iter()
        .filter(|row| row.name != changed.name)
        .map(|row| model_of(&row.definition))
        .collect();
    let position = rows
        .iter()
        .position(|row| row.name == changed.name)
        .unwrap_or(models.len());
    models.insert(position.min(models.len()), changed.clone());
    check(&models, before).map_err(|reason| {
        AppError::field(
            "schemaDefinition",
            format!("Cannot be turned into a GraphQL schema: {reason}"),
        )
    })
}

/// Every instance compares this revision with its cached schema's before serving.
pub(super) async fn bump_revision<C: ConnectionTrait>(conn: &C, account_id: &str) -> AppResult<()> {
    entity::account::Entity::update_many()
        .col_expr(
            entity::account::Column::SchemaRevision,
            Expr::col(entity::account::Column::SchemaRevision).add(1),
        )
        .filter(entity::account::Column::Id.eq(account_id))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    body: &Value,
    check: SchemaCheck,
) -> AppResult<Value> {
    let admin = principal.type_admin()?;
    let account_id = admin.account_id();
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, account_id, DEFINITIONS_LOCK).await?;
    let rows = existing(&txn, account_id).await?;
    let (stored, model) = validate(body, &|n| rows.iter().any(|r| r.name == n))?;
    if rows.iter().any(|r| r.name == model.name) {
        return Err(AppError::field("name", "This value is already used"));
    }
    refuse_internal_flag(&stored)?;
    check_schema(check, &rows, &model, None)?;
    let row = insert_definition(&txn, account_id, stored, &model).await?;
    bump_revision(&txn, account_id).await?;
    crate::db::commit(db, txn).await?;
    Ok(render(&row))
}

/// Internal types are the server's (`content::internal`); a client cannot make one.
fn refuse_internal_flag(stored: &Value) -> AppResult<()> {
    if stored["internal"].as_bool() == Some(true) {
        return Err(AppError::field(
            "internal",
            "Internal content types are made by the server",
        ));
    }
    Ok(())
}

fn refuse_internal_type(row: &content_type::Model, what: &str) -> AppResult<()> {
    if row.is_internal {
        return Err(AppError::Refused(vec![format!(
            "Internal content types cannot be {what}"
        )]));
    }
    Ok(())
}

/// Stores a validated definition (the caller bumps the schema revision).
pub(super) async fn insert_definition<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    stored: Value,
    model: &TypeModel,
) -> AppResult<content_type::Model> {
    let now = now_micros();
    Ok(content_type::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        account_id: Set(account_id.to_owned()),
        name: Set(model.name.clone()),
        label: Set(stored["label"].as_str().unwrap_or_default().to_owned()),
        is_internal: Set(stored["internal"].as_bool().unwrap_or(false)),
        definition: Set(stored),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

/// Replaces a definition. Existing objects lose removed properties and must satisfy
/// the new schema, or nothing changes.
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    name: &str,
    body: &Value,
    check: SchemaCheck,
) -> AppResult<Value> {
    let admin = principal.type_admin()?;
    let account_id = admin.account_id();
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, account_id, DEFINITIONS_LOCK).await?;
    // Objects of the type are rewritten below: no object write may interleave.
    crate::db::lock_type(&txn, account_id, name).await?;
    let (row, before) = load(&txn, account_id, name)
        .await?
        .ok_or(AppError::NotFound)?;
    refuse_internal_type(&row, "changed")?;
    let rows = existing(&txn, account_id).await?;
    let (stored, model) = validate(body, &|n| rows.iter().any(|r| r.name == n))?;
    refuse_internal_flag(&stored)?;
    if model.name != name {
        return Err(AppError::field(
            "name",
            "The name of a content type cannot be changed",
        ));
    }
    check_schema(check, &rows, &model, Some(&before))?;
    let unique = |model: &TypeModel| -> Vec<String> {
        let names = model.properties.iter().filter(|p| p.unique);
        names.map(|p| p.name.clone()).collect()
    };
    let reindex = unique(&before) != unique(&model);
    migrate_objects(&txn, account_id, &model, reindex).await?;
    let mut active: content_type::ActiveModel = row.into();
    active.label = Set(stored["label"].as_str().unwrap_or_default().to_owned());
    active.is_internal = Set(stored["internal"].as_bool().unwrap_or(false));
    active.definition = Set(stored);
    active.updated_at = Set(now_micros());
    let row = active.update(&txn).await?;
    bump_revision(&txn, account_id).await?;
    crate::db::commit(db, txn).await?;
    Ok(render(&row))
}

/// Deletes a definition that has no objects and that no key's rules name.
pub async fn delete(db: &DatabaseConnection, principal: &Principal, name: &str) -> AppResult<()> {
    let admin = principal.type_admin()?;
    let account_id = admin.account_id();
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, account_id, DEFINITIONS_LOCK).await?;
    // No object of the type may be written while its definition is checked and deleted.
    crate::db::lock_type(&txn, account_id, name).await?;
    let (row, _) = load(&txn, account_id, name)
        .await?
        .ok_or(AppError::NotFound)?;
    refuse_internal_type(&row, "deleted")?;
    let mut reasons = Vec::new();
    let rules = key_rule::Entity::find()
        .filter(key_rule::Column::AccountId.eq(account_id))
        .filter(key_rule::Column::ContentType.eq(name))
        .all(&txn)
        .await?;
    for rule in rules {
        if let Some(key) = entity::api_key::Entity::find_by_id(rule.key_id)
            .one(&txn)
            .await?
        {
            reasons.push(format!(
                "This content type definition is used by Api Key: {}",
                key.name
            ));
        }
    }
    let objects = live_select(account_id, name).count(&txn).await?;
    if objects > 0 {
        reasons.push("Content Type has objects, you can't remove it!".into());
    }
    for other in content_type::Entity::find()
        .filter(content_type::Column::AccountId.eq(account_id))
        .filter(content_type::Column::Name.ne(name))
        .all(&txn)
        .await?
    {
        if model_of(&other.definition)
            .properties
            .iter()
            .any(|p| p.relation.as_deref() == Some(name))
        {
            reasons.push(format!(
                "This content type definition is used by a relation in: {}",
                other.name
            ));
        }
    }
    if !reasons.is_empty() {
        return Err(AppError::Refused(reasons));
    }
    // Soft-deleted objects go with their type, so a new type of the same name starts clean.
    content_object::Entity::delete_many()
        .filter(content_object::Column::AccountId.eq(account_id))
        .filter(content_object::Column::ContentType.eq(name))
        .filter(Expr::col(content_object::Column::DeletedAt).is_not_null())
        .exec(&txn)
        .await?;
    content_type::Entity::delete_by_id(row.id)
        .exec(&txn)
        .await?;
    bump_revision(&txn, account_id).await?;
    crate::db::commit(db, txn).await?;
    Ok(())
}
