//! References between objects: the relation properties of an object's data, and the
//! relation index (`content_refs`) kept in step with them.

use entity::content_ref;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value};

use crate::content::definitions::TypeModel;
use crate::error::AppResult;

/// Where objects live on the REST API; a reference's `dataUrl` is this, the type and
/// the id.
const CONTENT_PATH: &str = "/api/v1/content/";

/// A reference to an object, as relation properties hold it:
/// `{"type": "internal", "dataUrl": "/api/v1/content/<type>/<id>"}`. Parsed and
/// written only here.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub type_name: String,
    pub id: String,
}

impl Reference {
    pub fn new(type_name: &str, id: &str) -> Self {
        Reference {
            type_name: type_name.to_owned(),
            id: id.to_owned(),
        }
    }

    /// `/api/v1/content/<type>/<id>` (the id may hold further slashes).
    pub fn from_url(url: &str) -> Option<Self> {
        let (type_name, id) = url.strip_prefix(CONTENT_PATH)?.split_once('/')?;
        (!type_name.is_empty() && !id.is_empty()).then(|| Reference::new(type_name, id))
    }

    /// The reference in one item of a relation property, if it holds a well-formed one.
    pub fn from_item(item: &Value) -> Option<Self> {
        Reference::from_url(item.get("dataUrl")?.as_str()?)
    }

    pub fn url(&self) -> String {
        format!("{CONTENT_PATH}{}/{}", self.type_name, self.id)
    }

    /// The item a relation property stores for this reference.
    pub fn to_item(&self) -> Value {
        serde_json::json!({"type": "internal", "dataUrl": self.url()})
    }
}

/// Relation references per relation property (with its target type): `Some((type, id))`
/// for a well-formed reference to the property's target type, `None` for anything else.
pub fn relation_refs(
    model: &TypeModel,
    data: &Map<String, Value>,
) -> Vec<(String, String, Vec<Option<Reference>>)> {
    model
        .properties
        .iter()
        .filter_map(|p| Some((p, p.relation.as_deref()?, data.get(&p.name)?.as_array()?)))
        .map(|(property, target, items)| {
            let refs = items
                .iter()
                .map(|item| Reference::from_item(item).filter(|r| r.type_name == target))
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
        .map(|(position, reference)| content_ref::ActiveModel {
            source_pk: Set(pk),
            position: Set(position as i32),
            account_id: Set(account_id.to_owned()),
            target_type: Set(reference.type_name),
            target_id: Set(reference.id),
        })
        .collect();
    if !refs.is_empty() {
        content_ref::Entity::insert_many(refs).exec(conn).await?;
    }
    Ok(())
}
