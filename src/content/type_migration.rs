//! Existing objects of a type whose definition changes: properties the new definition
//! dropped are removed, and the change is refused if any object would not conform.

use entity::content_object;
use sea_orm::{ActiveModelTrait, ConnectionTrait, QueryOrder, Set};
use serde_json::Value;

use super::definitions::TypeModel;
use super::definitions::conform::check_data;
use super::refs::write_refs;
use super::scope::live_select;
use super::unique::{forget_type, write_unique_values};
use crate::error::{AppError, AppResult, FieldErrors};

/// Drops removed properties from the type's objects, or refuses the change if objects
/// would not conform; with `reindex` (its unique properties changed) indexes their
/// unique values again.
pub(super) async fn migrate_objects<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    model: &TypeModel,
    reindex: bool,
) -> AppResult<()> {
    let live = live_select(account_id, &model.name)
        .order_by_asc(content_object::Column::Pk)
        .all(conn)
        .await?;
    let mut failures = std::collections::BTreeMap::new();
    let mut changed = Vec::new();
    let mut kept = Vec::with_capacity(live.len());
    for object in live {
        let mut data = object.data.as_object().cloned().unwrap_or_default();
        let before = data.len();
        data.retain(|key, _| model.property(key).is_some());
        let mut errors = FieldErrors::new();
        check_data(model, &data, &mut errors);
        if !errors.is_empty() {
            failures.insert(object.object_id.clone(), errors);
        } else if data.len() != before {
            if reindex {
                kept.push((object.pk, data.clone()));
            }
            changed.push((object, data));
        } else if reindex {
            kept.push((object.pk, data));
        }
    }
    if !failures.is_empty() {
        return Err(AppError::Nonconforming(failures));
    }
    for (object, data) in changed {
        let pk = object.pk;
        let mut active: content_object::ActiveModel = object.into();
        active.data = Set(Value::Object(data.clone()));
        active.update(conn).await?;
        write_refs(conn, account_id, pk, model, &data).await?;
    }
    if reindex {
        forget_type(conn, account_id, &model.name).await?;
        for (pk, data) in kept {
            write_unique_values(conn, account_id, pk, model, &data).await?;
        }
    }
    Ok(())
}
