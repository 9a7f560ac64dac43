//! Batch writes: create or upsert, patch, and delete up to 100 objects of one type.
//! Each batch is one transaction; valid items are saved even when others fail, and the
//! report lists the failures in Flotiq's shape.

use std::collections::BTreeSet;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::Value;

use super::read::{find_live, find_live_for_delete};
use super::write::{
    Replacing, begin_type_write, check_object, check_size, delete_blocker, insert_object, merged,
    new_id, replace_object, soft_delete, split_body,
};
use crate::auth::{Action, Principal};
use crate::error::{AppError, AppResult, FieldErrors};

pub const MAX_BATCH: usize = 100;

/// Outcome of a batch write, in Flotiq's report shape. Valid items are saved even
/// when others fail; an adapter answers a report with failures as a refusal.
#[derive(Debug, Serialize)]
pub struct BatchReport {
    pub batch_total_count: usize,
    pub batch_success_count: usize,
    pub batch_error_count: usize,
    pub errors: Vec<ItemFailure>,
}

/// One item of a batch that was not saved, and why.
#[derive(Debug, Serialize)]
pub struct ItemFailure {
    pub data: Value,
    pub errors: FieldErrors,
}

impl ItemFailure {
    fn new(data: &Value, errors: FieldErrors) -> Self {
        ItemFailure {
            data: data.clone(),
            errors,
        }
    }

    fn duplicate(data: &Value) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(
            "id".into(),
            vec!["There are duplications in object data, key: id".into()],
        );
        ItemFailure::new(data, errors)
    }
}

impl BatchReport {
    fn new(total: usize, errors: Vec<ItemFailure>) -> Self {
        BatchReport {
            batch_total_count: total,
            batch_success_count: total - errors.len(),
            batch_error_count: errors.len(),
            errors,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Outcome of a batch delete: how many were deleted, and why the others were not.
#[derive(Debug, Serialize)]
pub struct DeleteReport {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(rename = "deletedCount")]
    pub deleted_count: u64,
}

impl DeleteReport {
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }
}

fn batch_items(body: &Value) -> AppResult<&Vec<Value>> {
    let items = body
        .as_array()
        .ok_or_else(|| AppError::field("body", "An array of objects is expected"))?;
    if items.len() > MAX_BATCH {
        return Err(AppError::field(
            "batch_limit",
            format!(
                "A batch can hold at most {MAX_BATCH} objects, {} sent",
                items.len()
            ),
        ));
    }
    Ok(items)
}

/// Creates (or, with `update_existing`, upserts) up to 100 objects. Valid items are
/// saved even when others fail; the report lists the failures.
pub async fn batch_create(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    body: &Value,
    update_existing: bool,
) -> AppResult<BatchReport> {
    super::media_rules::refuse_media_create(type_name)?;
    let actions: &[Action] = if update_existing {
        &[Action::Create, Action::Update]
    } else {
        &[Action::Create]
    };
    let (txn, model, writer) = begin_type_write(db, principal, type_name, actions).await?;
    let items = batch_items(body)?;
    for item in items {
        check_size(item, item.get("id").and_then(Value::as_str).unwrap_or(""))?;
    }
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for item in items {
        let (id, data) = match split_body(item) {
            Ok(parts) => parts,
            Err(field_errors) => {
                errors.push(ItemFailure::new(item, field_errors));
                continue;
            }
        };
        let id = id.unwrap_or_else(|| new_id(type_name));
        if !seen.insert(id.clone()) {
            errors.push(ItemFailure::duplicate(item));
            continue;
        }
        let existing = if update_existing {
            find_live(&txn, principal.account_id(), type_name, &id).await?
        } else {
            None
        };
        let replacing = Replacing {
            existing: existing.as_ref(),
            sent: &data,
        };
        let field_errors = check_object(&txn, principal, &model, &id, &data, replacing).await?;
        if !field_errors.is_empty() {
            errors.push(ItemFailure::new(item, field_errors));
            continue;
        }
        match existing {
            Some(existing) => replace_object(&txn, &writer, &model, existing, data).await?,
            None => insert_object(&txn, &writer, &model, &id, data).await?,
        };
    }
    crate::db::commit(db, txn).await?;
    Ok(BatchReport::new(items.len(), errors))
}

/// Merges each item into the existing object with its id; never creates. A missing
/// object makes the whole request a 404 with nothing changed.
pub async fn batch_patch(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    body: &Value,
) -> AppResult<BatchReport> {
    let (txn, model, writer) =
        begin_type_write(db, principal, type_name, &[Action::Update]).await?;
    let items = batch_items(body)?;
    let mut targets = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        check_size(item, id)?;
        let existing = find_live(&txn, principal.account_id(), type_name, id)
            .await?
            .ok_or(AppError::NotFound)?;
        targets.push(existing);
    }
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (item, existing) in items.iter().zip(targets) {
        if !seen.insert(existing.pk) {
            errors.push(ItemFailure::duplicate(item));
            continue;
        }
        let (_, sent) = split_body(item).map_err(AppError::Validation)?;
        let data = merged(&existing, &sent);
        let replacing = Replacing {
            existing: Some(&existing),
            sent: &sent,
        };
        let field_errors = check_object(
            &txn,
            principal,
            &model,
            &existing.object_id,
            &data,
            replacing,
        )
        .await?;
        if !field_errors.is_empty() {
            errors.push(ItemFailure::new(item, field_errors));
            continue;
        }
        replace_object(&txn, &writer, &model, existing, data).await?;
    }
    crate::db::commit(db, txn).await?;
    Ok(BatchReport::new(items.len(), errors))
}

/// Deletes whatever it can of the listed ids.
pub async fn batch_delete(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    body: &Value,
) -> AppResult<DeleteReport> {
    let (txn, _, writer) = begin_type_write(db, principal, type_name, &[Action::Delete]).await?;
    let ids: Vec<String> = batch_items(body)?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| AppError::field("body", "An array of ids is expected"))
        })
        .collect::<AppResult<_>>()?;
    let mut deleted = 0;
    let mut reasons = Vec::new();
    for id in ids.iter().collect::<BTreeSet<_>>() {
        let Some(row) = find_live_for_delete(&txn, principal.account_id(), type_name, id).await?
        else {
            reasons.push(format!("Content object: \"{id}\" doesn't exist"));
            continue;
        };
        if delete_blocker(&txn, principal.account_id(), &row)
            .await?
            .is_some()
        {
            reasons.push(format!(
                "Content object: \"{id}\" is used in another content object."
            ));
            continue;
        }
        soft_delete(&txn, &writer, row).await?;
        deleted += 1;
    }
    crate::db::commit(db, txn).await?;
    Ok(DeleteReport {
        errors: reasons,
        deleted_count: deleted,
    })
}
