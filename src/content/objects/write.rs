//! Writing objects: create, replace, merge and delete, each in one transaction, with
//! every check of the data (schema, ids, unique values, references) made inside it.

use std::collections::BTreeSet;

use entity::{content_object, content_ref};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::{Map, Value};

use super::MAX_OBJECT_BYTES;
use super::media_rules::{keep_file_fields, refuse_media_create};
use super::read::{authorized_type, find_live, find_live_for_delete, live};
use super::render::write_answer;
use crate::auth::principal::Writer;
use crate::auth::{Action, Principal};
use crate::content::definitions::TypeModel;
use crate::content::definitions::conform::check_data;
use crate::content::internal::MEDIA;
use crate::content::refs::{Reference, relation_refs, write_refs};
use crate::content::unique::{forget, held_by_another, unique_values, write_unique_values};
use crate::db::now_micros;
use crate::error::{AppError, AppResult, FieldErrors};

/// Checks the caller's permissions, then opens the write transaction, takes the type's
/// write lock and reads the definition inside it: validation uses the definition the
/// write commits against, and nothing is opened for a refused caller.
pub(super) async fn begin_type_write<'a>(
    db: &DatabaseConnection,
    principal: &'a Principal,
    type_name: &str,
    actions: &[Action],
) -> AppResult<(DatabaseTransaction, TypeModel, Writer<'a>)> {
    let writer = principal.writer(type_name, actions)?;
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, principal.account_id(), type_name).await?;
    let model = authorized_type(&txn, principal, type_name, actions).await?;
    Ok((txn, model, writer))
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
    let account_id = principal.account_id();
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
    check_data(model, data, &mut errors);
    // Uniqueness holds across every object of the type, whoever may read them: one
    // lookup in the index of unique values per property.
    for (property, value) in unique_values(model, data) {
        if held_by_another(conn, account_id, &model.name, &property, &value, self_pk).await? {
            errors
                .entry(property)
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
                    Some(target) => live(account_id, &target.type_name, &target.id)
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
            let kept = |r: &Option<Reference>| {
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
) -> BTreeSet<(String, Reference)> {
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

pub(super) async fn insert_object(
    txn: &DatabaseTransaction,
    writer: &Writer<'_>,
    model: &TypeModel,
    id: &str,
    data: Map<String, Value>,
) -> AppResult<content_object::Model> {
    writer_for(writer, &model.name)?;
    let account_id = writer.account_id();
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
    write_unique_values(txn, account_id, row.pk, model, &data).await?;
    Ok(row)
}

pub(super) async fn replace_object(
    txn: &DatabaseTransaction,
    writer: &Writer<'_>,
    model: &TypeModel,
    existing: content_object::Model,
    data: Map<String, Value>,
) -> AppResult<content_object::Model> {
    writer_for(writer, &model.name)?;
    let mut data = data;
    if model.name == MEDIA {
        keep_file_fields(&existing, &mut data);
    }
    let account_id = writer.account_id();
    let pk = existing.pk;
    let version = existing.version + 1;
    let mut active: content_object::ActiveModel = existing.into();
    active.data = Set(Value::Object(data.clone()));
    active.updated_at = Set(now_micros());
    active.version = Set(version);
    let row = active.update(txn).await?;
    write_refs(txn, account_id, pk, model, &data).await?;
    write_unique_values(txn, account_id, pk, model, &data).await?;
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
    refuse_media_create(type_name)?;
    create_object(db, principal, type_name, body).await
}

/// The `_media` object of an upload whose file is stored (the media service's).
pub async fn create_uploaded(
    db: &DatabaseConnection,
    principal: &Principal,
    body: &Value,
) -> AppResult<Value> {
    create_object(db, principal, MEDIA, body).await
}

async fn create_object(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    body: &Value,
) -> AppResult<Value> {
    let (txn, model, writer) =
        begin_type_write(db, principal, type_name, &[Action::Create]).await?;
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
    let row = insert_object(&txn, &writer, &model, &id, data).await?;
    crate::db::commit(db, txn).await?;
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
    let (txn, model, writer) =
        begin_type_write(db, principal, type_name, &[Action::Update]).await?;
    let (body_id, sent) = split_body(body).map_err(AppError::Validation)?;
    if body_id.as_deref().is_some_and(|b| b != id) {
        return Err(AppError::field("id", "The id cannot be changed"));
    }
    check_size(body, id)?;
    let existing = find_live(&txn, principal.account_id(), type_name, id)
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
    let row = replace_object(&txn, &writer, &model, existing, data).await?;
    crate::db::commit(db, txn).await?;
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
    writer: &Writer<'_>,
    row: content_object::Model,
) -> AppResult<()> {
    writer_for(writer, &row.content_type)?;
    let pk = row.pk;
    let mut active: content_object::ActiveModel = row.into();
    active.deleted_at = Set(Some(now_micros()));
    active.update(conn).await?;
    // A deleted object no longer holds its targets, nor its unique values.
    forget(conn, pk).await?;
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
    let (txn, _, writer) = begin_type_write(db, principal, type_name, &[Action::Delete]).await?;
    let row = find_live_for_delete(&txn, principal.account_id(), type_name, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(reason) = delete_blocker(&txn, principal.account_id(), &row).await? {
        return Err(AppError::Refused(vec![reason]));
    }
    soft_delete(&txn, &writer, row).await?;
    crate::db::commit(db, txn).await?;
    Ok(())
}

/// A write handle is for one type: using it on another is refused (a bug, not a client
/// error, but refused in release builds all the same).
fn writer_for(writer: &Writer<'_>, type_name: &str) -> AppResult<()> {
    if writer.type_name() == type_name {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
