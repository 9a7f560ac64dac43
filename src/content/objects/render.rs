//! Objects as clients read them, and what a write answers. An answer is written from
//! the stored text in one pass (`render_text`): the stored properties are copied as
//! they are, `id` and `internal` are written beside them, and relations are replaced
//! by the texts of the objects they point at when hydrating. GraphQL's resolvers read
//! `fields::ObjectFields`; write answers are trees (`render_value`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use entity::content_object;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::stored::StoredObject;
use crate::auth::principal::ReadScope;
use crate::auth::{Action, Principal};
use crate::content::definitions::TypeModel;
use crate::content::refs::Reference;
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

/// What `internal` is made of.
struct Meta<'a> {
    content_type: &'a str,
    object_id: &'a str,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
    version: i32,
}

impl<'a> From<&'a StoredObject> for Meta<'a> {
    fn from(row: &'a StoredObject) -> Self {
        Meta {
            content_type: &row.content_type,
            object_id: &row.object_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            version: row.version,
        }
    }
}

impl<'a> From<&'a content_object::Model> for Meta<'a> {
    fn from(row: &'a content_object::Model) -> Self {
        Meta {
            content_type: &row.content_type,
            object_id: &row.object_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            version: row.version,
        }
    }
}

/// `internal.status` of every object (no drafts).
pub(super) const STATUS: &str = "public";

/// `internal` as Flotiq writes it; fields in the order a sorted map writes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Internal<'a> {
    content_type: &'a str,
    created_at: String,
    deleted_at: String,
    latest_version: i32,
    object_title: String,
    public_version: i32,
    published_at: &'static str,
    status: &'static str,
    updated_at: String,
    workflow_state: &'static str,
}

fn internal<'a>(meta: &Meta<'a>, title: String) -> Internal<'a> {
    Internal {
        content_type: meta.content_type,
        created_at: format_iso(meta.created_at),
        deleted_at: meta.deleted_at.map(format_iso).unwrap_or_default(),
        latest_version: meta.version,
        object_title: title,
        public_version: -1,
        published_at: "",
        status: STATUS,
        updated_at: format_iso(meta.updated_at),
        workflow_state: "saved",
    }
}

/// The object as a tree: `id`, `internal`, then its properties (write answers and
/// GraphQL parents).
fn render_data(model: &TypeModel, mut object: Map<String, Value>, meta: &Meta<'_>) -> Value {
    let title: Vec<&str> = model
        .properties
        .iter()
        .filter(|p| p.title_part)
        .filter_map(|p| object.get(&p.name).and_then(Value::as_str))
        .collect();
    let internal = serde_json::to_value(internal(meta, title.join(" "))).unwrap_or_default();
    object.insert("id".into(), json!(meta.object_id));
    object.insert("internal".into(), internal);
    Value::Object(object)
}

pub fn render(model: &TypeModel, row: &content_object::Model) -> Value {
    let data = row.data.as_object().cloned().unwrap_or_default();
    render_data(model, data, &row.into())
}

/// A stored row as a tree.
pub fn render_value(model: &TypeModel, row: &StoredObject) -> AppResult<Value> {
    let data: Map<String, Value> = serde_json::from_str(&row.data).map_err(corrupt)?;
    Ok(render_data(model, data, &row.into()))
}

fn corrupt(err: serde_json::Error) -> AppError {
    AppError::Internal(format!("stored object is not a JSON object: {err}"))
}

/// A property name as stored; borrowed from the text unless it holds escapes.
#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Name<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// The stored properties of a row, each value left as the text it was stored as.
pub(super) fn stored_properties(row: &StoredObject) -> AppResult<BTreeMap<Name<'_>, &RawValue>> {
    serde_json::from_str(&row.data).map_err(corrupt)
}

/// The stored values of the type's title properties, in definition order.
pub(super) fn title_parts<'a>(
    model: &'a TypeModel,
    stored: &'a BTreeMap<Name<'a>, &'a RawValue>,
) -> impl Iterator<Item = &'a RawValue> + 'a {
    model
        .properties
        .iter()
        .filter(|p| p.title_part)
        .filter_map(|p| stored.get(&Name(Cow::Borrowed(&p.name))).copied())
}

/// Related objects to write in place of references: the texts of the objects loaded
/// under `scope`. A readable reference without a loaded object is left out (the object
/// was deleted); a reference to a type outside the scope stays as stored.
pub struct Substitutes<'a> {
    pub scope: &'a ReadScope,
    pub objects: &'a HashMap<Reference, Box<RawValue>>,
}

/// The object as JSON text in one pass, keys in the order a tree would write them.
/// Stored values are written as the text they are (serde_json writes a `RawValue`
/// verbatim), so nothing is parsed below the top level and nothing is validated twice.
pub fn render_text(
    model: &TypeModel,
    row: &StoredObject,
    substitutes: Option<&Substitutes<'_>>,
) -> AppResult<Box<RawValue>> {
    let stored = stored_properties(row)?;
    let title: Vec<String> = title_parts(model, &stored)
        .filter_map(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .collect();
    let mut entries = Vec::with_capacity(stored.len() + 2);
    for (name, raw) in &stored {
        let key: &str = &name.0;
        if key == "id" || key == "internal" {
            continue;
        }
        let relation = model
            .properties
            .iter()
            .any(|p| p.name == key && p.relation.is_some());
        entries.push(match substitutes {
            Some(substitutes) if relation => match related(raw, substitutes) {
                Some(items) => (key, Entry::Items(items)),
                None => (key, Entry::Raw(raw)),
            },
            _ => (key, Entry::Raw(raw)),
        });
    }
    let rendering = Rendering {
        entries,
        id: &row.object_id,
        internal: internal(&Meta::from(row), title.join(" ")),
    };
    serde_json::value::to_raw_value(&rendering).map_err(corrupt)
}

/// One stored property as written: its stored text, or a relation's items.
enum Entry<'a> {
    Raw(&'a RawValue),
    Items(Vec<&'a RawValue>),
}

impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Entry::Raw(raw) => raw.serialize(serializer),
            Entry::Items(items) => items.serialize(serializer),
        }
    }
}

struct Rendering<'a> {
    /// Sorted by key, as stored properties come.
    entries: Vec<(&'a str, Entry<'a>)>,
    id: &'a str,
    internal: Internal<'a>,
}

impl Serialize for Rendering<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.entries.len() + 2))?;
        // `id` and `internal` take their places among the stored keys (which never
        // hold them), as in a tree's sorted map.
        let (mut id, mut internal) = (Some(self.id), Some(&self.internal));
        for (key, entry) in &self.entries {
            if *key > "id"
                && let Some(id) = id.take()
            {
                map.serialize_entry("id", id)?;
            }
            if *key > "internal"
                && let Some(internal) = internal.take()
            {
                map.serialize_entry("internal", internal)?;
            }
            map.serialize_entry(key, entry)?;
        }
        if let Some(id) = id {
            map.serialize_entry("id", id)?;
        }
        if let Some(internal) = internal {
            map.serialize_entry("internal", internal)?;
        }
        map.end()
    }
}

/// A relation's items with the loaded objects in place of readable references; `None`
/// when the stored value is not a list (it is written as stored).
fn related<'a>(raw: &'a RawValue, substitutes: &Substitutes<'a>) -> Option<Vec<&'a RawValue>> {
    let items = serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok()?;
    let items = items
        .into_iter()
        .filter_map(|item| {
            let reference = serde_json::from_str::<Value>(item.get())
                .ok()
                .and_then(|value| Reference::from_item(&value));
            match reference {
                Some(key) if substitutes.scope.contains(&key.type_name) => {
                    substitutes.objects.get(&key).map(AsRef::as_ref)
                }
                _ => Some(item),
            }
        })
        .collect();
    Some(items)
}

/// What a write answers: the object as stored, or to a caller that may not read the
/// type, its id alone (a write must not become a way to read).
pub(super) fn write_answer(
    principal: &Principal,
    model: &TypeModel,
    row: &content_object::Model,
) -> Value {
    if principal.can(&model.name, Action::Read) {
        render(model, row)
    } else {
        json!({ "id": row.object_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::definitions::Property;
    use crate::content::definitions::model::{InputType, SchemaType};

    fn property(name: &str, relation: Option<&str>, title_part: bool) -> Property {
        Property {
            name: name.into(),
            schema_type: if relation.is_some() {
                SchemaType::Array
            } else {
                SchemaType::String
            },
            input_type: InputType::Text,
            unique: false,
            relation: relation.map(str::to_owned),
            options: None,
            title_part,
            item_type: None,
            required: false,
        }
    }

    fn post() -> TypeModel {
        TypeModel {
            name: "post".into(),
            properties: vec![
                property("Zeta", None, false),
                property("author", Some("author"), false),
                property("title", None, true),
                property("_under", None, false),
                property("zz", Some("category"), false),
                property("solo", Some("author"), false),
            ],
            object_schema: Value::Null,
            compiled: Default::default(),
        }
    }

    fn reference(type_name: &str, id: &str) -> Value {
        json!({"type": "internal", "dataUrl": format!("/api/v1/content/{type_name}/{id}")})
    }

    fn row(data: Value) -> StoredObject {
        StoredObject {
            pk: 1,
            content_type: "post".into(),
            object_id: "post-\"1\"".into(),
            data: data.to_string(),
            created_at: 1_700_000_000_123_456,
            updated_at: 1_700_000_001_000_000,
            deleted_at: None,
            version: 3,
        }
    }

    #[test]
    fn the_text_is_what_the_tree_writes() {
        let model = post();
        let stored = row(json!({
            "Zeta": 1.5,
            "_under": null,
            "author": [reference("author", "a1")],
            "title": "Quotes \" and \\ and ünïcode",
            "zz": [],
            "nested": {"b": [1, {"a": true}]},
        }));
        let text = render_text(&model, &stored, None).unwrap();
        let tree = render_value(&model, &stored).unwrap();
        assert_eq!(text.get(), serde_json::to_string(&tree).unwrap());
        assert_eq!(
            tree["internal"]["objectTitle"],
            "Quotes \" and \\ and ünïcode"
        );
    }

    #[test]
    fn hydration_writes_loaded_objects_in_place_of_readable_references() {
        let model = post();
        let stored = row(json!({
            "author": [reference("author", "a1"), reference("author", "gone"), reference("author", "a1")],
            "zz": [reference("category", "c1")],
            "solo": null,
        }));
        let objects: HashMap<Reference, Box<RawValue>> = [(
            Reference::new("author", "a1"),
            RawValue::from_string(r#"{"id":"a1"}"#.into()).unwrap(),
        )]
        .into_iter()
        .collect();
        let scope = ReadScope::Only(vec!["author".into()]);
        let substitutes = Substitutes {
            scope: &scope,
            objects: &objects,
        };
        let text = render_text(&model, &stored, Some(&substitutes)).unwrap();
        let tree: Value = serde_json::from_str(text.get()).unwrap();
        // Repeats kept, a deleted object left out, an unreadable type as stored.
        assert_eq!(tree["author"], json!([{"id": "a1"}, {"id": "a1"}]));
        assert_eq!(tree["zz"], json!([reference("category", "c1")]));
        // A relation stored as something else than a list is written as stored.
        assert!(
            tree["solo"].is_null() && tree.get("solo").is_some(),
            "{tree}"
        );
        assert_eq!(tree["id"], "post-\"1\"");
    }
}
