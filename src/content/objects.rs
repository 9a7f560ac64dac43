//! Content objects: read, list, create, update, delete, batches and the removed list.
//! Writes run in one transaction each (a batch is one transaction for its valid items).

use entity::{content_object, content_ref};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set,
};
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::definition::TypeModel;
use super::models::Models;
use super::query::{Condition, Ordering, equals_condition};
use super::types::{count, load};
use super::{Page, validate};
use crate::auth::{Action, Principal};
use crate::db::{Sql, now_micros};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::time::format_iso;

pub const MAX_OBJECT_BYTES: usize = 1024 * 1024;
pub const MAX_LIST_LIMIT: u64 = 1000;

pub struct ListParams {
    /// Reported as `current_page`; the rows start at `offset`.
    pub page: u64,
    pub limit: u64,
    pub offset: u64,
    pub ordering: Ordering,
    pub filters: Vec<Condition>,
    pub ids: Vec<String>,
    /// Levels of relations to hydrate (0 to 2).
    pub hydrate: u8,
}

/// The object as clients read it: `id`, `internal`, then its properties.
pub fn render(model: &TypeModel, row: &content_object::Model) -> Value {
    let mut object = row.data.as_object().cloned().unwrap_or_default();
    let title: Vec<String> = model
        .properties
        .iter()
        .filter(|p| p.title_part)
        .filter_map(|p| {
            object
                .get(&p.name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    object.insert("id".into(), json!(row.object_id));
    object.insert(
        "internal".into(),
        json!({
            "contentType": row.content_type,
            "createdAt": format_iso(row.created_at),
            "updatedAt": format_iso(row.updated_at),
            "deletedAt": row.deleted_at.map(format_iso).unwrap_or_default(),
            "workflowState": "saved",
            "objectTitle": title.join(" "),
            "latestVersion": row.version,
            "status": "public",
            "publicVersion": -1,
            "publishedAt": "",
        }),
    );
    Value::Object(object)
}

/// What a write answers: the object as stored, or to a caller that may not read the
/// type, its id alone (a write must not become a way to read).
fn write_answer(principal: &Principal, model: &TypeModel, row: &content_object::Model) -> Value {
    if principal.can(&model.name, Action::Read) {
        render(model, row)
    } else {
        json!({ "id": row.object_id })
    }
}

/// Looks up the type after the scope check, so a refusal reveals nothing about it.
pub async fn authorized_type<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    type_name: &str,
    actions: &[Action],
) -> AppResult<TypeModel> {
    principal.require_all(type_name, actions)?;
    Ok(load(conn, &principal.account_id, type_name)
        .await?
        .ok_or(AppError::NotFound)?
        .1)
}

/// Checks the caller's permissions, then opens the write transaction, takes the type's
/// write lock and reads the definition inside it: validation uses the definition the
/// write commits against, and nothing is opened for a refused caller.
pub(super) async fn begin_type_write(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    actions: &[Action],
) -> AppResult<(DatabaseTransaction, TypeModel)> {
    principal.require_all(type_name, actions)?;
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, &principal.account_id, type_name).await?;
    let model = authorized_type(&txn, principal, type_name, actions).await?;
    Ok((txn, model))
}

fn live(account_id: &str, type_name: &str, id: &str) -> sea_orm::Select<content_object::Entity> {
    content_object::Entity::find()
        .filter(content_object::Column::AccountId.eq(account_id))
        .filter(content_object::Column::ContentType.eq(type_name))
        .filter(content_object::Column::ObjectId.eq(id))
        .filter(content_object::Column::DeletedAt.is_null())
}

pub(super) async fn find_live<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    id: &str,
) -> AppResult<Option<content_object::Model>> {
    Ok(live(account_id, type_name, id).one(conn).await?)
}

/// A live object about to be deleted, row-locked on PostgreSQL (SQLite serialises all
/// writes already): a concurrent write that references it waits for the deletion
/// and then finds it gone, or the deletion waits and then finds the new reference.
pub(super) async fn find_live_for_delete<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    id: &str,
) -> AppResult<Option<content_object::Model>> {
    Ok(live(account_id, type_name, id)
        .lock_exclusive()
        .one(conn)
        .await?)
}

pub async fn get(
    db: &DatabaseConnection,
    principal: &Principal,
    models: &Models,
    type_name: &str,
    id: &str,
    hydrate: u8,
) -> AppResult<Value> {
    let model = models.authorized(principal, type_name, &[Action::Read])?;
    let row = find_live(db, &principal.account_id, type_name, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut objects = [render(model, &row)];
    super::hydrate::hydrate(db, principal, &models.by_name, &mut objects, hydrate).await?;
    let [object] = objects;
    Ok(object)
}

/// A page of objects of `model`'s type, one of `models`. The caller got `model` through
/// `Models::authorized` (REST) or the account's current schema (GraphQL); the read
/// permission is checked here again all the same.
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    models: &Models,
    model: &TypeModel,
    params: &ListParams,
) -> AppResult<Page<Value>> {
    principal.require(&model.name, Action::Read)?;
    if params.ids.len() as u64 > MAX_LIST_LIMIT {
        return Err(AppError::field(
            "ids",
            format!("At most {MAX_LIST_LIMIT} ids can be asked for at once"),
        ));
    }
    let type_name = model.name.as_str();
    let where_clause = |sql: &mut Sql| {
        sql.push(" FROM content_objects WHERE account_id = ")
            .bind(principal.account_id.clone())
            .push(" AND content_type = ")
            .bind(type_name.to_owned())
            .push(" AND deleted_at IS NULL");
        if !params.ids.is_empty() {
            sql.push(" AND object_id IN ").bind_list(params.ids.clone());
        }
        for condition in &params.filters {
            sql.push(" AND ");
            sql.push_condition(condition);
        }
    };
    let mut sql = Sql::new(db.get_database_backend());
    if params.filters.is_empty() && params.ids.is_empty() {
        // Unfiltered: the live count kept by the database's own triggers.
        sql.push("SELECT CAST(COALESCE(SUM(live), 0) AS BIGINT) AS num FROM content_counts WHERE account_id = ")
            .bind(principal.account_id.clone())
            .push(" AND content_type = ")
            .bind(type_name.to_owned());
    } else {
        sql.push("SELECT COUNT(*) AS num");
        where_clause(&mut sql);
    }
    let total = count(db, &sql).await?;

    let mut sql = Sql::new(db.get_database_backend());
    // The page is chosen on the index alone (no JSON read for skipped rows), then
    // only its rows are fetched.
    sql.push("SELECT * FROM content_objects WHERE pk IN (SELECT pk");
    where_clause(&mut sql);
    sql.push(" ORDER BY ");
    sql.push_ordering(&params.ordering);
    sql.push(" LIMIT ")
        .bind(params.limit as i64)
        .push(" OFFSET ")
        .bind(params.offset as i64)
        .push(") ORDER BY ");
    sql.push_ordering(&params.ordering);
    let rows = content_object::Model::find_by_statement(sql.statement())
        .all(db)
        .await?;
    let mut objects: Vec<Value> = rows.iter().map(|row| render(model, row)).collect();
    super::hydrate::hydrate(db, principal, &models.by_name, &mut objects, params.hydrate).await?;
    Ok(Page::new(objects, total, params.page, params.limit))
}

/// Splits a client body into its id and its properties; `internal` is ignored.
pub(super) fn split_body(
    body: &Value,
) -> Result<(Option<String>, Map<String, Value>), FieldErrors> {
    let Some(object) = body.as_object() else {
        let mut errors = FieldErrors::new();
        errors.insert("data".into(), vec!["An object is expected".into()]);
        return Err(errors);
    };
    let mut data = object.clone();
    data.remove("internal");
    let id = match data.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if id.is_empty() => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => {
            let mut errors = FieldErrors::new();
            errors.insert("id".into(), vec!["This value is not valid.".into()]);
            return Err(errors);
        }
    };
    Ok((id, data))
}

pub(super) fn check_size(body: &Value, id: &str) -> AppResult<()> {
    let size = serde_json::to_vec(body).map(|b| b.len()).unwrap_or(0);
    if size > MAX_OBJECT_BYTES {
        return Err(AppError::TooLarge(format!(
            "Content Object size limit exceeded by an object with ID: {id}. Requested size {:.2} MB, limit: 1 MB)",
            size as f64 / MAX_OBJECT_BYTES as f64
        )));
    }
    Ok(())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:=!?#$%&(`’{}\" ".contains(c))
}

/// What an object write is checked against besides its data: the object it replaces,
/// if any, and the properties the client sent (the rest were kept from that object).
pub(super) struct Replacing<'a> {
    pub existing: Option<&'a content_object::Model>,
    pub sent: &'a Map<String, Value>,
}

/// The message for a reference to a type the caller may not read, whether or not the
/// object exists: existence is never revealed past the read scope.
pub const UNREADABLE_REFERENCE: &str =
    "This key may only reference objects of content types it can read";

/// Every check of one object's data, including those that need the database.
pub(super) async fn check_object<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    model: &TypeModel,
    id: &str,
    data: &Map<String, Value>,
    replacing: Replacing<'_>,
) -> AppResult<FieldErrors> {
    let account_id = principal.account_id.as_str();
    let self_pk = replacing.existing.map(|e| e.pk);
    let mut errors = FieldErrors::new();
    if !valid_id(id) {
        errors
            .entry("id".into())
            .or_default()
            .push("This value is not valid.".into());
    } else if self_pk.is_none()
        && find_live(conn, account_id, &model.name, id)
            .await?
            .is_some()
    {
        errors
            .entry("id".into())
            .or_default()
            .push("This value is already used".into());
    }
    validate::check_data(model, data, &mut errors);
    for property in model.properties.iter().filter(|p| p.unique) {
        let Some(value) = data
            .get(&property.name)
            .filter(|v| !v.is_null() && *v != "" && !v.is_array())
        else {
            continue;
        };
        let Ok(condition) = equals_condition(model, &property.name, value) else {
            continue; // a wrong type is already reported by the schema check
        };
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("SELECT COUNT(*) AS num FROM content_objects WHERE account_id = ")
            .bind(account_id.to_owned())
            .push(" AND content_type = ")
            .bind(model.name.clone())
            .push(" AND deleted_at IS NULL AND ");
        sql.push_condition(&condition);
        if let Some(pk) = self_pk {
            sql.push(" AND pk <> ").bind(pk);
        }
        if count(conn, &sql).await? > 0 {
            errors
                .entry(property.name.clone())
                .or_default()
                .push("This value is already used".into());
        }
    }
    let keepable = keepable_refs(principal, model, &replacing);
    for (property, target, references) in relation_refs(model, data) {
        let message = if principal.can(&target, Action::Read) {
            let mut missing = false;
            for reference in &references {
                let exists = match reference {
                    // Share-locked, so the target cannot be deleted before this write commits.
                    Some((target_type, target_id)) => live(account_id, target_type, target_id)
                        .lock_shared()
                        .one(conn)
                        .await?
                        .is_some(),
                    None => false,
                };
                missing |= !exists;
            }
            missing.then_some("This value does not exist in database")
        } else {
            // Only references the object already holds may stay (their targets cannot
            // be deleted while they are held); anything else is refused unlooked-at.
            let kept = |r: &Option<Target>| {
                r.as_ref()
                    .is_some_and(|t| keepable.contains(&(property.clone(), t.clone())))
            };
            (!references.iter().all(kept)).then_some(UNREADABLE_REFERENCE)
        };
        if let Some(message) = message {
            errors.entry(property).or_default().push(message.into());
        }
    }
    Ok(errors)
}

/// The references of the replaced object a caller may write back without being able to
/// read their type: those of properties it did not send and, if it may read the object
/// itself (and so saw them), those it sent again.
fn keepable_refs(
    principal: &Principal,
    model: &TypeModel,
    replacing: &Replacing<'_>,
) -> BTreeSet<(String, Target)> {
    let Some(existing) = replacing.existing else {
        return BTreeSet::new();
    };
    let sees_object = principal.can(&model.name, Action::Read);
    let stored = existing.data.as_object().cloned().unwrap_or_default();
    relation_refs(model, &stored)
        .into_iter()
        .filter(|(property, _, _)| sees_object || !replacing.sent.contains_key(property))
        .flat_map(|(property, _, refs)| {
            refs.into_iter()
                .flatten()
                .map(move |target| (property.clone(), target))
        })
        .collect()
}

/// A related object: its type and id.
type Target = (String, String);

/// Relation references per relation property (with its target type): `Some((type, id))`
/// for a well-formed reference to the property's target type, `None` for anything else.
fn relation_refs(
    model: &TypeModel,
    data: &Map<String, Value>,
) -> Vec<(String, String, Vec<Option<Target>>)> {
    model
        .properties
        .iter()
        .filter_map(|p| Some((p, p.relation.as_deref()?, data.get(&p.name)?.as_array()?)))
        .map(|(property, target, items)| {
            let refs = items
                .iter()
                .map(|item| {
                    let url = item.get("dataUrl")?.as_str()?;
                    let (target_type, target_id) =
                        url.strip_prefix("/api/v1/content/")?.split_once('/')?;
                    (target_type == target && !target_id.is_empty())
                        .then(|| (target_type.to_owned(), target_id.to_owned()))
                })
                .collect();
            (property.name.clone(), target.to_owned(), refs)
        })
        .collect()
}

/// Rewrites the relation index of one object to match its data.
pub async fn write_refs<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    pk: i64,
    model: &TypeModel,
    data: &Map<String, Value>,
) -> AppResult<()> {
    content_ref::Entity::delete_many()
        .filter(content_ref::Column::SourcePk.eq(pk))
        .exec(conn)
        .await?;
    let refs: Vec<content_ref::ActiveModel> = relation_refs(model, data)
        .into_iter()
        .flat_map(|(_, _, refs)| refs.into_iter().flatten())
        .enumerate()
        .map(
            |(position, (target_type, target_id))| content_ref::ActiveModel {
                source_pk: Set(pk),
                position: Set(position as i32),
                account_id: Set(account_id.to_owned()),
                target_type: Set(target_type),
                target_id: Set(target_id),
            },
        )
        .collect();
    if !refs.is_empty() {
        content_ref::Entity::insert_many(refs).exec(conn).await?;
    }
    Ok(())
}

pub(super) async fn insert_object(
    txn: &DatabaseTransaction,
    account_id: &str,
    model: &TypeModel,
    id: &str,
    data: Map<String, Value>,
) -> AppResult<content_object::Model> {
    let now = now_micros();
    let row = content_object::ActiveModel {
        account_id: Set(account_id.to_owned()),
        content_type: Set(model.name.clone()),
        object_id: Set(id.to_owned()),
        data: Set(Value::Object(data.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        version: Set(1),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    write_refs(txn, account_id, row.pk, model, &data).await?;
    Ok(row)
}

pub(super) async fn replace_object(
    txn: &DatabaseTransaction,
    account_id: &str,
    model: &TypeModel,
    existing: content_object::Model,
    data: Map<String, Value>,
) -> AppResult<content_object::Model> {
    let pk = existing.pk;
    let version = existing.version + 1;
    let mut active: content_object::ActiveModel = existing.into();
    active.data = Set(Value::Object(data.clone()));
    active.updated_at = Set(now_micros());
    active.version = Set(version);
    let row = active.update(txn).await?;
    write_refs(txn, account_id, pk, model, &data).await?;
    Ok(row)
}

pub(super) fn new_id(type_name: &str) -> String {
    format!("{type_name}-{}", uuid::Uuid::new_v4().simple())
}

pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    body: &Value,
) -> AppResult<Value> {
    let (txn, model) = begin_type_write(db, principal, type_name, &[Action::Create]).await?;
    let (id, data) = split_body(body).map_err(AppError::Validation)?;
    let id = id.unwrap_or_else(|| new_id(type_name));
    check_size(body, &id)?;
    let replacing = Replacing {
        existing: None,
        sent: &data,
    };
    let errors = check_object(&txn, principal, &model, &id, &data, replacing).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let row = insert_object(&txn, &principal.account_id, &model, &id, data).await?;
    txn.commit().await?;
    Ok(write_answer(principal, &model, &row))
}

/// PUT (`partial == false`) replaces the data; PATCH merges the sent properties into it.
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    id: &str,
    body: &Value,
    partial: bool,
) -> AppResult<Value> {
    let (txn, model) = begin_type_write(db, principal, type_name, &[Action::Update]).await?;
    let (body_id, sent) = split_body(body).map_err(AppError::Validation)?;
    if body_id.as_deref().is_some_and(|b| b != id) {
        return Err(AppError::field("id", "The id cannot be changed"));
    }
    check_size(body, id)?;
    let existing = find_live(&txn, &principal.account_id, type_name, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let data = if partial {
        merged(&existing, &sent)
    } else {
        sent.clone()
    };
    let replacing = Replacing {
        existing: Some(&existing),
        sent: &sent,
    };
    let errors = check_object(&txn, principal, &model, id, &data, replacing).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let row = replace_object(&txn, &principal.account_id, &model, existing, data).await?;
    txn.commit().await?;
    Ok(write_answer(principal, &model, &row))
}

pub(super) fn merged(
    existing: &content_object::Model,
    sent: &Map<String, Value>,
) -> Map<String, Value> {
    let mut data = existing.data.as_object().cloned().unwrap_or_default();
    data.extend(sent.iter().map(|(k, v)| (k.clone(), v.clone())));
    data
}

/// Why an object cannot be deleted, if it cannot.
pub(super) async fn delete_blocker<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    row: &content_object::Model,
) -> AppResult<Option<String>> {
    let referenced = content_ref::Entity::find()
        .filter(content_ref::Column::AccountId.eq(account_id))
        .filter(content_ref::Column::TargetType.eq(&row.content_type))
        .filter(content_ref::Column::TargetId.eq(&row.object_id))
        .filter(content_ref::Column::SourcePk.ne(row.pk))
        .one(conn)
        .await?;
    Ok(referenced.map(|_| "This content object is used in another content object.".to_owned()))
}

pub(super) async fn soft_delete<C: ConnectionTrait>(
    conn: &C,
    row: content_object::Model,
) -> AppResult<()> {
    let pk = row.pk;
    let mut active: content_object::ActiveModel = row.into();
    active.deleted_at = Set(Some(now_micros()));
    active.update(conn).await?;
    // A deleted object no longer holds its targets.
    content_ref::Entity::delete_many()
        .filter(content_ref::Column::SourcePk.eq(pk))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn delete(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    id: &str,
) -> AppResult<()> {
    let (txn, _) = begin_type_write(db, principal, type_name, &[Action::Delete]).await?;
    let row = find_live_for_delete(&txn, &principal.account_id, type_name, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(reason) = delete_blocker(&txn, &principal.account_id, &row).await? {
        return Err(AppError::Refused(vec![reason]));
    }
    soft_delete(&txn, row).await?;
    txn.commit().await?;
    Ok(())
}

/// Ids of objects deleted after `deleted_after` (microseconds) that have not come back.
pub async fn removed(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    deleted_after: Option<i64>,
) -> AppResult<Vec<String>> {
    authorized_type(db, principal, type_name, &[Action::Read, Action::Delete]).await?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT object_id, MAX(deleted_at) AS last FROM content_objects WHERE account_id = ")
        .bind(principal.account_id.clone())
        .push(" AND content_type = ")
        .bind(type_name.to_owned())
        .push(" AND deleted_at IS NOT NULL");
    if let Some(after) = deleted_after {
        sql.push(" AND deleted_at > ").bind(after);
    }
    sql.push(" AND object_id NOT IN (SELECT object_id FROM content_objects WHERE account_id = ")
        .bind(principal.account_id.clone())
        .push(" AND content_type = ")
        .bind(type_name.to_owned())
        .push(" AND deleted_at IS NULL) GROUP BY object_id ORDER BY last, object_id");
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String>("", "object_id")?))
        .collect()
}
