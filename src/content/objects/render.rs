//! Objects as clients read them, and what a write answers.

use entity::content_object;
use serde_json::{Map, Value, json};

use crate::auth::{Action, Principal};
use crate::content::definitions::TypeModel;
use crate::time::format_iso;

/// The object as clients read it: `id`, `internal`, then its properties.
pub fn render(model: &TypeModel, row: &content_object::Model) -> Value {
    let data = row.data.as_object().cloned().unwrap_or_default();
    render_data(model, data, row)
}

/// `render` of a row that is not needed afterwards: its data is moved, not copied.
pub fn render_owned(model: &TypeModel, mut row: content_object::Model) -> Value {
    let data = match std::mem::take(&mut row.data) {
        Value::Object(data) => data,
        _ => Map::new(),
    };
    render_data(model, data, &row)
}

fn render_data(
    model: &TypeModel,
    mut object: Map<String, Value>,
    row: &content_object::Model,
) -> Value {
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
