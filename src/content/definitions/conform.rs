//! Checks of an object's data that need no database: the JSON Schema of its type (via
//! the `jsonschema` crate) and option lists, reported with Flotiq's messages.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::{Map, Value};

use super::model::TypeModel;
use crate::error::FieldErrors;

pub fn check_data(model: &TypeModel, data: &Map<String, Value>, errors: &mut FieldErrors) {
    let instance = Value::Object(data.clone());
    match model.validator() {
        Some(validator) => {
            for error in validator.iter_errors(&instance) {
                let mut path = dotted(error.instance_path().iter());
                let message = match error.kind() {
                    ValidationErrorKind::Required { property } => {
                        let property = property.as_str().unwrap_or_default().to_owned();
                        path = if path.is_empty() {
                            property.clone()
                        } else {
                            format!("{path}.{property}")
                        };
                        format!("The property {property} is required")
                    }
                    ValidationErrorKind::Type { kind } => {
                        let expected = match kind {
                            TypeKind::Single(t) => t.to_string(),
                            TypeKind::Multiple(set) => format!("{set:?}"),
                        };
                        format!(
                            "{} value found, but a{} {expected} is required",
                            json_type_name(error.instance()),
                            article(&expected)
                        )
                    }
                    ValidationErrorKind::MinLength { limit } => {
                        format!("Must be at least {limit} characters long")
                    }
                    ValidationErrorKind::MaxLength { limit } => {
                        format!("Must be at most {limit} characters long")
                    }
                    ValidationErrorKind::Pattern { pattern } => {
                        format!("Does not match the regex pattern {pattern}")
                    }
                    ValidationErrorKind::Enum { options } => {
                        format!("Does not have a value in the enumeration {options}")
                    }
                    ValidationErrorKind::MinItems { limit } => {
                        format!("There must be a minimum of {limit} items in the array")
                    }
                    ValidationErrorKind::MaxItems { limit } => {
                        format!("There must be a maximum of {limit} items in the array")
                    }
                    ValidationErrorKind::Minimum { limit } => {
                        format!("Must have a minimum value of {limit}")
                    }
                    ValidationErrorKind::Maximum { limit } => {
                        format!("Must have a maximum value of {limit}")
                    }
                    ValidationErrorKind::AdditionalProperties { unexpected } => {
                        for property in unexpected {
                            let key = if path.is_empty() {
                                property.clone()
                            } else {
                                format!("{path}.{property}")
                            };
                            errors.entry(key).or_default().push(format!(
                                "The property {property} is not defined and the definition does not allow additional properties"
                            ));
                        }
                        continue;
                    }
                    _ => "This value is not valid.".to_owned(),
                };
                errors
                    .entry(if path.is_empty() { "data".into() } else { path })
                    .or_default()
                    .push(message);
            }
        }
        None => {
            errors
                .entry("data".into())
                .or_default()
                .push("This value is not valid.".into());
        }
    }
    for property in &model.properties {
        let (Some(options), Some(value)) = (&property.options, data.get(&property.name)) else {
            continue;
        };
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            Value::String(s) if s.is_empty() => Vec::new(),
            other => vec![other],
        };
        if values
            .iter()
            .any(|v| !v.as_str().is_some_and(|s| options.iter().any(|o| o == s)))
        {
            errors
                .entry(property.name.clone())
                .or_default()
                .push("The value does not match possible options".into());
        }
    }
}

fn dotted<'a>(segments: impl Iterator<Item = LocationSegment<'a>>) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            LocationSegment::Property(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
            }
            LocationSegment::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "n"
    } else {
        ""
    }
}

/// PostgreSQL cannot store U+0000 in text or JSONB, so it is refused on every backend
/// at the edge rather than failing deep inside a query.
pub const NUL_MESSAGE: &str = "Text may not contain the NUL character (U+0000)";

/// Whether any key or string in `value` holds U+0000.
pub fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}
