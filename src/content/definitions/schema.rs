//! The JSON Schema that objects of a type are checked against, built from its
//! definition with relation references resolved inline.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

pub(super) const PROPS: &str = "schemaDefinition.allOf[1].properties";
const DATA_SOURCE_REF: &str = "#/components/schemas/DataSource";

/// The JSON Schema for objects: the definition's properties with relation references
/// resolved inline (the `jsonschema` crate never fetches anything). Err is the path of
/// a reference that cannot be resolved.
pub(super) fn object_schema(
    properties: &Map<String, Value>,
    required: &[String],
    schema: Option<&Value>,
) -> Result<Value, String> {
    let mut resolved = Map::new();
    for (prop, prop_schema) in properties {
        let mut prop_schema = prop_schema.clone();
        inline_refs(&mut prop_schema, &format!("{PROPS}.{prop}"))?;
        resolved.insert(prop.clone(), prop_schema);
    }
    let additional = schema
        .and_then(|s| s.get("additionalProperties"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let unique_required: BTreeSet<&String> = required.iter().collect();
    Ok(json!({
        "type": "object",
        "properties": resolved,
        "required": unique_required,
        "additionalProperties": additional,
    }))
}

fn inline_refs(value: &mut Value, path: &str) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                if reference != DATA_SOURCE_REF {
                    return Err(format!("{path}.$ref"));
                }
                *value = data_source_schema();
                return Ok(());
            }
            for (key, child) in map.iter_mut() {
                inline_refs(child, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|child| inline_refs(child, path)),
        _ => Ok(()),
    }
}

fn data_source_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["internal", "external"]},
            "dataUrl": {"type": "string"}
        },
        "required": ["type", "dataUrl"],
        "additionalProperties": false
    })
}
