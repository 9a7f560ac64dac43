//! Content type definitions as clients send them: checked with Flotiq's messages and
//! field paths, and turned into their stored form and model.

use serde_json::{Map, Value, json};

use super::model::{InputType, Property, SchemaType, TypeModel, is_name};
use super::schema::{PROPS, object_schema};
use crate::error::{AppError, FieldErrors};

const RESERVED: &[&str] = &[
    "id",
    "_id",
    "_index",
    "_type",
    "_source",
    "_score",
    "_routing",
    "_version",
    "_shards",
    "objectType",
    "internal",
];

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
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    let Some(object) = body.as_object() else {
        return Err(AppError::field("body", "This value is not valid."));
    };
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
        let path = format!("{PROPS}.{prop}");
        if !is_name(prop) {
            add(
                &path,
                "Invalid value. Only a-z, A-Z, 0-9 and _ are allowed".into(),
            );
        }
        if RESERVED.contains(&prop.as_str()) {
            add(&path, format!("Property name {prop} not allowed"));
        }
        let schema_type = prop_schema
            .get("type")
            .and_then(Value::as_str)
            .and_then(SchemaType::parse);
        if schema_type.is_none() {
            add(
                &format!("{path}.type"),
                format!(
                    "Does not have a value in the enumeration {}",
                    json!(SchemaType::NAMES)
                ),
            );
        }
        if !order.contains(&prop.as_str()) {
            add(
                "metaDefinition.order",
                format!("Property name {prop} not existing in the order"),
            );
        }
        let Some(config) = configs.get(prop) else {
            add(
                "metaDefinition.propertiesConfig",
                format!("Property name {prop} not existing in meta definition"),
            );
            continue;
        };
        let config_path = format!("metaDefinition.propertiesConfig.{prop}");
        for required in ["label", "inputType", "unique"] {
            if config.get(required).is_none() {
                add(
                    &format!("{config_path}.{required}"),
                    format!("The property {required} is required"),
                );
            }
        }
        let input_type = config
            .get("inputType")
            .and_then(Value::as_str)
            .map(|text| (text, InputType::parse(text)));
        let multiple = config
            .get("multiple")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match (input_type, schema_type) {
            (Some((_, None)), _) => add(
                &format!("{config_path}.inputType"),
                format!(
                    "Does not have a value in the enumeration {}",
                    json!(InputType::NAMES)
                ),
            ),
            // A property whose schema type is unknown fits only a custom input.
            (Some((_, Some(input))), schema)
                if input != InputType::Custom
                    && !schema.is_some_and(|schema| input.fits(schema, multiple)) =>
            {
                add(
                    &format!("{config_path}.inputType"),
                    format!("Wrong meta type for type of {prop}"),
                )
            }
            _ => {}
        }
        // Only reached with a value when the definition is valid; refused otherwise.
        let input_type = input_type.and_then(|(_, t)| t).unwrap_or(InputType::Custom);
        let relation = config
            .pointer("/validation/relationContenttype")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if input_type == InputType::Datasource {
            match &relation {
                None => add(
                    &format!("{config_path}.validation.relationContenttype"),
                    format!("You have to specify type of relation for {prop}"),
                ),
                Some(target) if target != name && !type_exists(target) => add(
                    &format!("{config_path}.validation.relationContenttype"),
                    format!("Content type {target} does not exist"),
                ),
                _ => {}
            }
        }
        let options = matches!(input_type, InputType::Select | InputType::Radio)
            .then(|| config_options(config))
            .flatten();
        model_properties.push(Property {
            name: prop.clone(),
            schema_type: schema_type.unwrap_or(SchemaType::Null),
            input_type,
            unique: config
                .get("unique")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            relation: (input_type == InputType::Datasource)
                .then_some(relation)
                .flatten(),
            options,
            title_part: config
                .get("isTitlePart")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            item_type: prop_schema
                .pointer("/items/type")
                .and_then(Value::as_str)
                .and_then(SchemaType::parse),
            required: false,
        });
    }
    for prop in &order {
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
    for property in &mut model_properties {
        property.required = required.contains(&property.name);
    }
    for prop in &required {
        if !properties.contains_key(prop) {
            add(
                "schemaDefinition.required",
                format!("Property name {prop} not existing in schema definition"),
            );
        }
    }
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
    };
    Ok((stored, model))
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
        })
}

fn config_options(config: &Value) -> Option<Vec<String>> {
    let use_labels = config
        .get("useOptionsWithLabels")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if use_labels {
        let items = config.get("optionsWithLabels")?.as_array()?;
        return Some(
            items
                .iter()
                .filter_map(|o| o.get("value")?.as_str().map(str::to_owned))
                .collect(),
        );
    }
    let items = config.get("options")?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}
