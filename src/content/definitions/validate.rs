//! Content type definitions as clients send them: checked with Flotiq's messages and
//! field paths, and turned into their stored form and model.

use serde_json::{Map, Value, json};

use super::model::TypeModel;
use super::property::{PropertyContext, check_property};
use super::schema::{PROPS, object_schema};
use crate::error::{AppError, FieldErrors};

/// Top-level keys a client may send; read-only keys it got from a GET are ignored.
const DEFINITION_KEYS: &[&str] = &[
    "name",
    "label",
    "draftPublic",
    "internal",
    "featuredImage",
    "workflowId",
    "slugs",
    "schemaDefinition",
    "metaDefinition",
];

const READ_ONLY_KEYS: &[&str] = &["id", "createdAt", "updatedAt", "deletedAt"];

/// Checks a definition sent by a client and returns it in stored form with its model.
/// `exists` tells whether another type of the account already has a given name.
pub fn validate(
    body: &Value,
    type_exists: &dyn Fn(&str) -> bool,
) -> Result<(Value, TypeModel), AppError> {
    let mut errors = FieldErrors::new();
    let Some(object) = body.as_object() else {
        return Err(AppError::field("body", "This value is not valid."));
    };
    let (name, label) = check_top_level(object, &mut errors);
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);

    let schema = object.get("schemaDefinition");
    let all_of = schema
        .and_then(|s| s.get("allOf"))
        .and_then(Value::as_array);
    let properties = match all_of {
        Some(items) if items.len() == 2 => items[1].get("properties").and_then(Value::as_object),
        _ => {
            add("schemaDefinition.allOf", "This value is not valid.".into());
            None
        }
    };
    if let Some(items) = all_of.filter(|items| items.len() == 2) {
        let abstract_ref = items[0].get("$ref").and_then(Value::as_str);
        if abstract_ref != Some("#/components/schemas/AbstractContentTypeSchemaDefinition") {
            add(
                "schemaDefinition.allOf[0]",
                "This value is not valid.".into(),
            );
        }
    }
    let empty = Map::new();
    let properties = properties.unwrap_or(&empty);
    if all_of.is_some_and(|items| items.len() == 2) && properties.is_empty() {
        add(
            PROPS,
            "You must specify at least one schema property".into(),
        );
    }
    let meta = object.get("metaDefinition");
    let order: Vec<&str> = meta
        .and_then(|m| m.get("order"))
        .and_then(Value::as_array)
        .map(|o| o.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let configs = meta
        .and_then(|m| m.get("propertiesConfig"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);

    let mut model_properties = Vec::new();
    for (prop, prop_schema) in properties {
        let context = PropertyContext {
            type_name: name,
            order: &order,
            configs,
            type_exists,
        };
        model_properties.extend(check_property(prop, prop_schema, &context, &mut errors));
    }
    check_meta_names(&order, configs, properties, &mut errors);
    let required = required_of(schema, properties, &mut errors);
    for property in &mut model_properties {
        property.required = required.contains(&property.name);
    }
    let kept_slugs = kept_slugs(object, properties, &mut errors);
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    let object_schema = match object_schema(properties, &required, schema) {
        Ok(s) => s,
        Err(path) => {
            add(&path, "This value is not valid.".into());
            Value::Null
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let stored = json!({
        "name": name,
        "label": label,
        "internal": object.get("internal").and_then(Value::as_bool).unwrap_or(false),
        "draftPublic": object.get("draftPublic").and_then(Value::as_bool).unwrap_or(false),
        "featuredImage": object.get("featuredImage").cloned().unwrap_or(json!([])),
        "slugs": kept_slugs,
        "schemaDefinition": schema.cloned().unwrap_or(Value::Null),
        "metaDefinition": meta.cloned().unwrap_or(Value::Null),
    });
    let model = TypeModel {
        name: name.to_owned(),
        properties: model_properties,
        object_schema,
        compiled: Default::default(),
    };
    Ok((stored, model))
}

/// The top-level keys, `name`, `label` and the flags; returns the name and label.
fn check_top_level<'a>(
    object: &'a Map<String, Value>,
    errors: &mut FieldErrors,
) -> (&'a str, &'a str) {
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    for key in object.keys() {
        if !DEFINITION_KEYS.contains(&key.as_str()) && !READ_ONLY_KEYS.contains(&key.as_str()) {
            add(
                key,
                format!(
                    "The property {key} is not defined and the definition does not allow additional properties"
                ),
            );
        }
    }
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        add("name", "The property name is required".into());
    } else if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') || name.len() > 64 {
        add("name", "This value is not valid.".into());
    }
    let label = object
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if label.trim().is_empty() {
        add("label", "The property label is required".into());
    }
    for flag in ["draftPublic", "internal"] {
        if object.get(flag).is_some_and(|v| !v.is_boolean()) {
            add(flag, "This value is not valid.".into());
        }
    }
    (name, label)
}

/// Names in `metaDefinition` that the schema does not define.
fn check_meta_names(
    order: &[&str],
    configs: &Map<String, Value>,
    properties: &Map<String, Value>,
    errors: &mut FieldErrors,
) {
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    for prop in order {
        if !properties.contains_key(*prop) {
            add(
                "metaDefinition.order",
                format!("Property name {prop} not existing in schema definition"),
            );
        }
    }
    for prop in configs.keys() {
        if !properties.contains_key(prop) {
            add(
                &format!("metaDefinition.propertiesConfig.{prop}"),
                format!("Property name {prop} not existing in schema definition"),
            );
        }
    }
}

/// `schemaDefinition.required`, each naming a defined property.
fn required_of(
    schema: Option<&Value>,
    properties: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Vec<String> {
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    let required: Vec<String> = match schema.and_then(|s| s.get("required")) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
            add(
                "schemaDefinition.required",
                "This value is not valid.".into(),
            );
            Vec::new()
        }
    };
    for prop in &required {
        if !properties.contains_key(prop) {
            add(
                "schemaDefinition.required",
                format!("Property name {prop} not existing in schema definition"),
            );
        }
    }
    required
}

/// The slug rules to keep: active ones must name existing fields.
fn kept_slugs(
    object: &Map<String, Value>,
    properties: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Vec<Value> {
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    let slugs = object
        .get("slugs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept_slugs = Vec::new();
    for (i, slug) in slugs.iter().enumerate() {
        let active = slug.get("active").and_then(Value::as_bool).unwrap_or(true);
        let mut ok = true;
        for (end, word) in [("source", "source"), ("target", "target")] {
            match slug.get(end).and_then(Value::as_str) {
                None | Some("") if active => {
                    add(
                        &format!("slugs[{i}].{end}"),
                        format!("Slug {word} is required."),
                    );
                    ok = false;
                }
                Some(field) if !properties.contains_key(field) => {
                    ok = false;
                    if active {
                        add(
                            &format!("slugs[{i}].{end}"),
                            format!(
                                "Field \"{field}\" used as slug {word} does not exist in the type definition."
                            ),
                        );
                    }
                }
                None | Some("") => ok = false,
                _ => {}
            }
        }
        // An inactive rule with missing fields is dropped silently, as Flotiq does.
        if ok {
            kept_slugs.push(slug.clone());
        }
    }
    kept_slugs
}

/// The model of a definition already in storage (validated when it was saved).
pub fn model_of(stored: &Value) -> TypeModel {
    validate(stored, &|_| true)
        .map(|(_, model)| model)
        .unwrap_or_else(|_| TypeModel {
            name: stored
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            properties: Vec::new(),
            object_schema: json!({"type": "object"}),
            compiled: Default::default(),
        })
}
