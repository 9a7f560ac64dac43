//! List filters and ordering of content objects, turned into SQL for SQLite or
//! PostgreSQL. Every client value is bound; field names are checked against the type
//! definition before they reach a JSON path. Anything we cannot honour is a 400 naming
//! the parameter, never a condition silently dropped.

use serde_json::{Map, Value};

use super::definition::TypeModel;
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::time::parse_client_date;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
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
enum Target {
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
enum Kind {
    Number,
    Boolean,
    Text,
}

#[derive(Clone, Debug)]
pub struct Condition {
    target: Target,
    op: Op,
    values: Vec<Value>,
    upper: Option<Value>,
}

fn filters_error(message: impl Into<String>) -> AppError {
    AppError::field("filters", message)
}

fn target_of(model: &TypeModel, path: &str, param: &str) -> AppResult<Target> {
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
                    property.item_type.as_deref(),
                    Some("string" | "number" | "integer" | "boolean")
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
                    let kind = match property.schema_type.as_str() {
                        "number" | "integer" => Kind::Number,
                        "boolean" => Kind::Boolean,
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

/// A property name as definitions allow them (`[a-zA-Z0-9_]+`), safe inside a JSON path.
pub(crate) fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Text of one `contains`/`startsWith`/... filter value at most.
pub const MAX_PATTERN_BYTES: usize = 1000;

/// Values one `filters` JSON may hold in all (arrays of `equals`, `overlaps`, ...).
pub const MAX_FILTER_VALUES: usize = 1000;

/// Parses the `filters` JSON of a list request against the type definition.
pub fn parse_filters(model: &TypeModel, raw: &str) -> AppResult<Vec<Condition>> {
    let parsed: Value = serde_json::from_str(raw)
        .map_err(|_| filters_error("Malformed filters json - Syntax error"))?;
    if super::validate::contains_nul(&parsed) {
        return Err(filters_error(super::validate::NUL_MESSAGE));
    }
    let Value::Object(entries) = parsed else {
        return Err(filters_error(
            "Malformed filters json - an object is expected",
        ));
    };
    let conditions: Vec<Condition> = entries
        .iter()
        .map(|(path, spec)| parse_condition(model, path, spec))
        .collect::<AppResult<_>>()?;
    let values: usize = conditions.iter().map(|c| c.values.len() + 1).sum();
    if values > MAX_FILTER_VALUES {
        return Err(filters_error(format!(
            "The filters hold {values} values; at most {MAX_FILTER_VALUES} are allowed"
        )));
    }
    Ok(conditions)
}

fn parse_condition(model: &TypeModel, path: &str, spec: &Value) -> AppResult<Condition> {
    let target = target_of(model, path, "filters")?;
    let spec: &Map<String, Value> = spec.as_object().ok_or_else(|| {
        filters_error(format!(
            "Filter for {path} must be an object with type and filter"
        ))
    })?;
    let op_name = spec.get("type").and_then(Value::as_str).unwrap_or_default();
    let op = Op::parse(op_name)
        .ok_or_else(|| filters_error(format!("Unknown filter type \"{op_name}\" for {path}")))?;
    let needs_value = !matches!(op, Op::Empty | Op::NotEmpty);
    let filter = spec.get("filter").filter(|v| !v.is_null());
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
    let upper = spec.get("filter2").filter(|v| !v.is_null()).cloned();
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
enum Typed {
    Text(String),
    Number(f64),
    Bool(bool),
    Micros(i64),
}

fn typed(target: &Target, value: &Value, path: &str) -> AppResult<Typed> {
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

/// The ordering of a list, checked against the definition.
#[derive(Clone, Debug)]
pub struct Ordering {
    target: Target,
    descending: bool,
    empty_first: bool,
}

/// `order_direction`: `asc` (the default) or `desc`.
pub fn parse_direction(direction: Option<&str>) -> AppResult<bool> {
    match direction.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(AppError::field("order_direction", "Must be asc or desc")),
    }
}

pub fn parse_order(
    model: &TypeModel,
    order_by: Option<&str>,
    direction: Option<&str>,
    empty_first: bool,
) -> AppResult<Ordering> {
    let target = match order_by.filter(|o| !o.is_empty()) {
        None => Target::Timestamp("created_at"),
        Some(path) => match target_of(model, path, "order_by")? {
            Target::Items { .. } => {
                return Err(AppError::field(
                    "order_by",
                    format!("Cannot order by the list field {path}"),
                ));
            }
            target => target,
        },
    };
    let descending = parse_direction(direction)?;
    Ok(Ordering {
        target,
        descending,
        empty_first,
    })
}

/// SQL fragments over `content_objects` (alias-free: `data`, `object_id`, ...).
impl Sql {
    /// Binds the JSON path of a top-level property: `$."name"` for SQLite's
    /// `json_extract`, the bare key for PostgreSQL's `->`/`->>`.
    pub(crate) fn json_path(&mut self, name: &str) -> &mut Self {
        if self.is_postgres() {
            self.bind(name.to_owned())
        } else {
            self.bind(format!("$.\"{name}\""))
        }
    }

    /// The stored value of a scalar target, comparable with `bind_typed`.
    fn push_scalar(&mut self, target: &Target) {
        match target {
            Target::ObjectId => {
                self.push("object_id");
            }
            Target::Timestamp(column) => {
                self.push(column);
            }
            Target::Prop { name, .. } => {
                if self.is_postgres() {
                    self.push("(data -> ").json_path(name).push(")");
                } else {
                    self.push("json_extract(data, ").json_path(name).push(")");
                }
            }
            Target::Items { .. } | Target::AnyField => unreachable!("not a scalar target"),
        }
    }

    /// The stored value as text, for pattern matching.
    fn push_text(&mut self, target: &Target) {
        match target {
            Target::Prop { name, .. } if self.is_postgres() => {
                self.push("(data ->> ").json_path(name).push(")");
            }
            other => self.push_scalar(other),
        }
    }

    fn bind_typed(&mut self, target: &Target, value: &Typed) {
        let postgres_json = self.is_postgres() && matches!(target, Target::Prop { .. });
        match value {
            Typed::Micros(m) => {
                self.bind(*m);
            }
            _ if postgres_json => {
                let json = match value {
                    Typed::Text(s) => Value::String(s.clone()),
                    Typed::Number(n) => {
                        serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
                    }
                    Typed::Bool(b) => Value::Bool(*b),
                    Typed::Micros(_) => unreachable!(),
                };
                self.push("CAST(").bind(json.to_string()).push(" AS jsonb)");
            }
            Typed::Text(s) => {
                self.bind(s.clone());
            }
            Typed::Number(n) => {
                self.bind(*n);
            }
            Typed::Bool(b) => {
                self.bind(i64::from(*b));
            }
        }
    }

    fn bind_typed_list(&mut self, target: &Target, values: &[Typed]) {
        self.push("(");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_typed(target, value);
        }
        self.push(")");
    }

    /// `EXISTS (SELECT 1 FROM <items> WHERE <item> ...` — the caller closes it with `)`.
    fn open_items(&mut self, name: &str, key: &Option<String>) {
        if self.is_postgres() {
            self.push("EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(data -> ")
                .json_path(name)
                .push(") = 'array' THEN data -> ")
                .json_path(name)
                .push(" ELSE '[]'::jsonb END) AS item WHERE ");
            match key {
                Some(key) => self.push("(item ->> ").bind(key.clone()).push(")"),
                None => self.push("(item #>> '{}')"),
            };
        } else {
            self.push("EXISTS (SELECT 1 FROM json_each(data, ")
                .json_path(name)
                .push(") AS item WHERE ");
            match key {
                Some(key) => self
                    .push("json_extract(item.value, ")
                    .json_path(key)
                    .push(")"),
                None => self.push("item.value"),
            };
        }
    }

    fn bind_item(&mut self, value: &Value) {
        // PostgreSQL compares items as text; SQLite compares them as stored.
        match value {
            Value::String(s) => self.bind(s.clone()),
            Value::Number(n) if !self.is_postgres() => self.bind(n.as_f64().unwrap_or_default()),
            Value::Bool(b) if !self.is_postgres() => self.bind(i64::from(*b)),
            other => self.bind(other.to_string()),
        };
    }

    fn like(&mut self) -> &mut Self {
        self.push(if self.is_postgres() {
            " ILIKE "
        } else {
            " LIKE "
        })
    }

    pub fn push_condition(&mut self, condition: &Condition) {
        let Condition {
            target,
            op,
            values,
            upper,
        } = condition;
        let typed_values: Vec<Typed> = values
            .iter()
            .map(|v| typed(target, v, "").expect("checked when parsed"))
            .collect();
        let pattern = |value: &Value| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let escaped = crate::db::like_escape(&text);
            match op {
                Op::StartsWith => format!("{escaped}%"),
                Op::EndsWith => format!("%{escaped}"),
                _ => format!("%{escaped}%"),
            }
        };
        match (target, op) {
            (Target::AnyField, _) => {
                if *op == Op::NotContains {
                    self.push("NOT ");
                }
                if self.is_postgres() {
                    self.push("EXISTS (SELECT 1 FROM jsonb_path_query(data, 'lax $.**') AS v WHERE jsonb_typeof(v) = 'string' AND (v #>> '{}') ILIKE ");
                } else {
                    self.push("EXISTS (SELECT 1 FROM json_tree(data) AS v WHERE v.type = 'text' AND v.atom LIKE ");
                }
                self.bind(pattern(&values[0])).push(" ESCAPE '\\')");
            }
            (Target::Items { name, key }, _) => {
                let negate = matches!(op, Op::NotEqual | Op::NotContains | Op::Empty);
                if matches!(op, Op::Empty | Op::NotEmpty) {
                    if negate {
                        self.push("NOT ");
                    }
                    self.open_items(name, key);
                    self.push(" IS NOT NULL AND ");
                    if self.is_postgres() {
                        self.push("jsonb_typeof(item) <> 'null'");
                    } else {
                        self.push("item.type <> 'null'");
                    }
                    self.push(")");
                    return;
                }
                if *op == Op::Includes && values.len() > 1 {
                    // Every listed value must be an item.
                    self.push("(");
                    for (i, value) in values.iter().enumerate() {
                        if i > 0 {
                            self.push(" AND ");
                        }
                        self.open_items(name, key);
                        self.push(" = ");
                        self.bind_item(value);
                        self.push(")");
                    }
                    self.push(")");
                    return;
                }
                if values.is_empty() {
                    // `overlaps` with an empty list matches nothing.
                    self.push("1 = 0");
                    return;
                }
                if negate {
                    self.push("NOT ");
                }
                self.open_items(name, key);
                match op {
                    Op::Contains | Op::NotContains | Op::StartsWith | Op::EndsWith => {
                        self.like().bind(pattern(&values[0])).push(" ESCAPE '\\'");
                    }
                    _ => {
                        self.push(" IN (");
                        for (i, value) in values.iter().enumerate() {
                            if i > 0 {
                                self.push(", ");
                            }
                            self.bind_item(value);
                        }
                        self.push(")");
                    }
                }
                self.push(")");
            }
            (_, Op::Equals | Op::Includes | Op::Overlaps) => {
                if values.is_empty() {
                    self.push("1 = 0");
                    return;
                }
                self.push_scalar(target);
                self.push(" IN ");
                self.bind_typed_list(target, &typed_values);
            }
            (_, Op::NotEqual) => {
                self.push("(");
                self.push_scalar(target);
                self.push(" IS NULL OR ");
                self.push_scalar(target);
                self.push(" NOT IN ");
                self.bind_typed_list(target, &typed_values);
                self.push(")");
            }
            (_, Op::Contains | Op::StartsWith | Op::EndsWith) => {
                self.push_text(target);
                self.like().bind(pattern(&values[0])).push(" ESCAPE '\\'");
            }
            (_, Op::NotContains) => {
                self.push("(");
                self.push_text(target);
                self.push(" IS NULL OR NOT (");
                self.push_text(target);
                self.like().bind(pattern(&values[0])).push(" ESCAPE '\\'))");
            }
            (_, Op::LessThan | Op::LessThanOrEqual | Op::GreaterThan | Op::GreaterThanOrEqual) => {
                self.push_scalar(target);
                self.push(match op {
                    Op::LessThan => " < ",
                    Op::LessThanOrEqual => " <= ",
                    Op::GreaterThan => " > ",
                    _ => " >= ",
                });
                self.bind_typed(target, &typed_values[0]);
            }
            (_, Op::InRange) => {
                let upper = typed(target, upper.as_ref().expect("checked when parsed"), "")
                    .expect("checked when parsed");
                self.push("(");
                self.push_scalar(target);
                self.push(" >= ");
                self.bind_typed(target, &typed_values[0]);
                self.push(" AND ");
                self.push_scalar(target);
                self.push(" <= ");
                self.bind_typed(target, &upper);
                self.push(")");
            }
            (_, Op::Empty | Op::NotEmpty) => {
                if *op == Op::NotEmpty {
                    self.push("NOT ");
                }
                self.push("(");
                self.push_scalar(target);
                self.push(" IS NULL");
                if let Target::Prop { name, .. } = target {
                    if self.is_postgres() {
                        self.push(" OR (data -> ")
                            .json_path(name)
                            .push(") IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)");
                    } else {
                        self.push(" OR json_type(data, ")
                            .json_path(name)
                            .push(") IN ('null') OR json_extract(data, ")
                            .json_path(name)
                            .push(") = ''");
                    }
                }
                self.push(")");
            }
        }
    }

    pub fn push_ordering(&mut self, ordering: &Ordering) {
        let direction = if ordering.descending { " DESC" } else { " ASC" };
        if matches!(ordering.target, Target::Prop { .. }) {
            // Only JSON properties can be missing; columns are never NULL, and ordering
            // by them alone lets the listing index deliver rows in order.
            self.push_empty_last(ordering);
        }
        self.push_scalar(&ordering.target);
        self.push(direction).push(", pk").push(direction);
    }

    fn push_empty_last(&mut self, ordering: &Ordering) {
        self.push("CASE WHEN ");
        self.push_scalar(&ordering.target);
        self.push(if ordering.empty_first {
            " IS NULL THEN 0 ELSE 1 END, "
        } else {
            " IS NULL THEN 1 ELSE 0 END, "
        });
    }
}

/// The condition "property `name` equals `value`", for unique-field checks.
pub fn equals_condition(model: &TypeModel, name: &str, value: &Value) -> AppResult<Condition> {
    parse_condition(
        model,
        name,
        &serde_json::json!({"type": "equals", "filter": value}),
    )
}
