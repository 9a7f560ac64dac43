//! References between objects: the relation properties of an object's data, and the
//! relation index (`content_refs`) kept in step with them.

use entity::content_ref;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value};

use crate::content::definitions::TypeModel;
use crate::error::AppResult;

/// A related object: its type and id.
pub type Target = (String, String);

/// Relation references per relation property (with its target type): `Some((type, id))`
/// for a well-formed reference to the property's target type, `None` for anything else.
pub fn relation_refs(
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
