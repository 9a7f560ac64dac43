//! Filters and ordering as clients send them, checked against the type definition.

use serde_json::Value;

use crate::content::definitions::TypeModel;
use crate::content::definitions::conform::{NUL_MESSAGE, contains_nul};
use crate::content::definitions::model::{SchemaType, is_name};
use crate::error::{AppError, AppResult};
use crate::time::parse_client_date;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Equals,
    NotEqual,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    InRange,
    Empty,
    NotEmpty,
    Overlaps,
    Includes,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "equals" => Op::Equals,
            "notEqual" | "notEquals" => Op::NotEqual,
            "contains" => Op::Contains,
            "notContains" => Op::NotContains,
            "startsWith" => Op::StartsWith,
            "endsWith" => Op::EndsWith,
            "lessThan" => Op::LessThan,
            "lessThanOrEqual" => Op::LessThanOrEqual,
            "greaterThan" => Op::GreaterThan,
            "greaterThanOrEqual" => Op::GreaterThanOrEqual,
            "inRange" => Op::InRange,
            "empty" => Op::Empty,
            "notEmpty" => Op::NotEmpty,
            "overlaps" => Op::Overlaps,
            "includes" => Op::Includes,
            _ => return None,
        })
    }
}

/// What a filter or order applies to.
#[derive(Clone, Debug)]
pub(super) enum Target {
    ObjectId,
    /// `internal.createdAt` / `internal.updatedAt`: integer microsecond columns.
    Timestamp(&'static str),
    /// A scalar property in the object's JSON.
    Prop {
        name: String,
        kind: Kind,
    },
    /// The items of an array property, or one key of each item (`rel[*].dataUrl`).
    Items {
        name: String,
        key: Option<String>,
    },
    /// Any string anywhere in the object (`"*"`).
    AnyField,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Number,
    Boolean,
    Text,
}

#[derive(Clone, Debug)]
pub struct Condition {
    pub(super) target: Target,
    pub(super) op: Op,
    pub(super) values: Vec<Value>,
    pub(super) upper: Option<Value>,
}

fn filters_error(message: impl Into<String>) -> AppError {
    AppError::field("filters", message)
}

pub(super) fn target_of(model: &TypeModel, path: &str, param: &str) -> AppResult<Target> {
    let unknown = || AppError::field(param, format!("Unknown field: {path}"));
    Ok(match path {
        "id" => Target::ObjectId,
        "internal.createdAt" => Target::Timestamp("created_at"),
        "internal.updatedAt" => Target::Timestamp("updated_at"),
        "*" if param == "filters" => Target::AnyField,
        _ => {
            if let Some((name, rest)) = path.split_once("[*]") {
                let property = model
                    .property(name)
                    .filter(|p| p.is_array())
                    .ok_or_else(unknown)?;
                let scalar_items = matches!(
                    property.item_type,
                    Some(
                        SchemaType::String
                            | SchemaType::Number
                            | SchemaType::Integer
                            | SchemaType::Boolean
                    )
                );
                let key = match rest.strip_prefix('.') {
                    // Items that are not objects have no keys to address.
                    Some(key) if is_name(key) && !scalar_items => Some(key.to_owned()),
                    None if rest.is_empty() => None,
                    _ => return Err(unknown()),
                };
                Target::Items {
                    name: property.name.clone(),
                    key,
                }
            } else {
                let property = model.property(path).ok_or_else(unknown)?;
                if property.is_array() {
                    Target::Items {
                        name: property.name.clone(),
                        key: None,
                    }
                } else {
                    let kind = match property.schema_type {
                        SchemaType::Number | SchemaType::Integer => Kind::Number,
                        SchemaType::Boolean => Kind::Boolean,
                        _ => Kind::Text,
                    };
                    Target::Prop {
                        name: property.name.clone(),
                        kind,
                    }
                }
            }
        }
    })
}

/// Text of one `contains`/`startsWith`/... filter value at most.
pub const MAX_PATTERN_BYTES: usize = 1000;

/// Values one `filters` JSON may hold in all (arrays of `equals`, `overlaps`, ...).
pub const MAX_FILTER_VALUES: usize = 1000;

/// Parses the `filters` JSON of a list request against the type definition.
pub fn parse_filters(model: &TypeModel, raw: &str) -> AppResult<Vec<Condition>> {
    let parsed: Value = serde_json::from_str(raw)
        .map_err(|_| filters_error("Malformed filters json - Syntax error"))?;
    if contains_nul(&parsed) {
        return Err(filters_error(NUL_MESSAGE));
    }
    let Value::Object(entries) = parsed else {
        return Err(filters_error(
            "Malformed filters json - an object is expected",
        ));
    };
    // Entry by entry, each checked whole (its field first) before the next.
    let conditions = entries
        .into_iter()
        .map(|(path, spec)| {
            target_of(model, &path, "filters")?;
            parse_condition(model, &FilterSpec::from_json(path, spec)?)
        })
        .collect::<AppResult<_>>()?;
    within_value_limit(conditions)
}

/// One filter as a client states it, before the definition has been consulted: a path
/// (`title`, `author[*].dataUrl`, `id`, `internal.createdAt`), an operator and its
/// values. REST builds it from the `filters` JSON, GraphQL from its typed input.
#[derive(Clone, Debug)]
pub struct FilterSpec {
    pub path: String,
    pub op: String,
    pub filter: Option<Value>,
    pub filter2: Option<Value>,
}

impl FilterSpec {
    fn from_json(path: String, spec: Value) -> AppResult<Self> {
        let Value::Object(mut spec) = spec else {
            return Err(filters_error(format!(
                "Filter for {path} must be an object with type and filter"
            )));
        };
        let op = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut value = |key: &str| spec.remove(key).filter(|v| !v.is_null());
        let (filter, filter2) = (value("filter"), value("filter2"));
        Ok(FilterSpec {
            path,
            op,
            filter,
            filter2,
        })
    }
}

/// The conditions of a set of filters, checked against the type definition.
pub fn conditions_of(model: &TypeModel, specs: &[FilterSpec]) -> AppResult<Vec<Condition>> {
    let conditions = specs
        .iter()
        .map(|spec| parse_condition(model, spec))
        .collect::<AppResult<_>>()?;
    within_value_limit(conditions)
}

fn within_value_limit(conditions: Vec<Condition>) -> AppResult<Vec<Condition>> {
    let values: usize = conditions.iter().map(|c| c.values.len() + 1).sum();
    if values > MAX_FILTER_VALUES {
        return Err(filters_error(format!(
            "The filters hold {values} values; at most {MAX_FILTER_VALUES} are allowed"
        )));
    }
    Ok(conditions)
}

fn parse_condition(model: &TypeModel, spec: &FilterSpec) -> AppResult<Condition> {
    let path = spec.path.as_str();
    let target = target_of(model, path, "filters")?;
    let op_name = spec.op.as_str();
    let op = Op::parse(op_name)
        .ok_or_else(|| filters_error(format!("Unknown filter type \"{op_name}\" for {path}")))?;
    let needs_value = !matches!(op, Op::Empty | Op::NotEmpty);
    let filter = spec.filter.as_ref();
    if needs_value && filter.is_none() {
        return Err(filters_error(format!(
            "Filter {op_name} for {path} needs a filter value"
        )));
    }
    let values = match filter {
        Some(Value::Array(items))
            if matches!(op, Op::Equals | Op::NotEqual | Op::Overlaps | Op::Includes) =>
        {
            items.clone()
        }
        Some(Value::Array(_)) | Some(Value::Object(_)) => {
            return Err(filters_error(format!(
                "Filter {op_name} for {path} takes a single value"
            )));
        }
        Some(value) => vec![value.clone()],
        None => Vec::new(),
    };
    if needs_value && values.is_empty() && op != Op::Overlaps {
        return Err(filters_error(format!(
            "Filter {op_name} for {path} needs a filter value"
        )));
    }
    let upper = spec.filter2.clone();
    if op == Op::InRange && upper.is_none() {
        return Err(filters_error(format!(
            "Filter inRange for {path} needs filter and filter2"
        )));
    }
    let supported = match (&target, op) {
        (Target::AnyField, Op::Contains | Op::NotContains) => true,
        (Target::AnyField, _) => false,
        (
            Target::Items { .. },
            Op::LessThan
            | Op::LessThanOrEqual
            | Op::GreaterThan
            | Op::GreaterThanOrEqual
            | Op::InRange,
        ) => false,
        (Target::Timestamp(_), Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith) => {
            false
        }
        (
            Target::Prop {
                kind: Kind::Boolean | Kind::Number,
                ..
            },
            Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith,
        ) => false,
        _ => true,
    };
    if !supported {
        return Err(filters_error(format!(
            "Filter {op_name} is not supported for {path}"
        )));
    }
    let condition = Condition {
        target,
        op,
        values,
        upper,
    };
    // A pattern past SQLite's LIKE limit (50,000 bytes) would fail in the database.
    let pattern = matches!(
        op,
        Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith
    );
    if pattern
        && condition
            .values
            .iter()
            .any(|v| v.as_str().map_or(v.to_string().len(), str::len) > MAX_PATTERN_BYTES)
    {
        return Err(filters_error(format!(
            "Filter {op_name} for {path} takes at most {MAX_PATTERN_BYTES} bytes of text"
        )));
    }
    // Convert values now so that a bad date or number is a 400, not a silent mismatch.
    for value in condition.values.iter().chain(condition.upper.iter()) {
        typed(&condition.target, value, path)?;
    }
    Ok(condition)
}

/// A client value converted to what the target stores.
pub(super) enum Typed {
    Text(String),
    Number(f64),
    Bool(bool),
    Micros(i64),
}

pub(super) fn typed(target: &Target, value: &Value, path: &str) -> AppResult<Typed> {
    let as_text = || match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match target {
        Target::Timestamp(_) => {
            let micros = match value {
                Value::String(s) => parse_client_date(s),
                _ => None,
            };
            Typed::Micros(
                micros.ok_or_else(|| filters_error(format!("Wrong date format for {path}")))?,
            )
        }
        Target::Prop {
            kind: Kind::Number, ..
        } => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            Typed::Number(
                number.ok_or_else(|| filters_error(format!("A number is expected for {path}")))?,
            )
        }
        Target::Prop {
            kind: Kind::Boolean,
            ..
        } => Typed::Bool(match value {
            Value::Bool(b) => *b,
            Value::String(s) if s == "true" || s == "1" => true,
            Value::String(s) if s == "false" || s == "0" => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => return Err(filters_error(format!("A boolean is expected for {path}"))),
        }),
        _ => Typed::Text(as_text()),
    })
}

/// The condition "property `name` equals `value`", for unique-field checks.
pub fn equals_condition(model: &TypeModel, name: &str, value: &Value) -> AppResult<Condition> {
    let spec = FilterSpec {
        path: name.to_owned(),
        op: "equals".to_owned(),
        filter: Some(value.clone()),
        filter2: None,
    };
    parse_condition(model, &spec)
}
