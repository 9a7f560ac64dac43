//! Filters and ordering written as SQL for SQLite or PostgreSQL. Every client value is
//! bound; names reach a JSON path only after the definition has vouched for them.

use serde_json::Value;

use super::order::Ordering;
use super::parse::{Condition, Op, Target, Typed, typed};
use crate::db::Sql;

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
        match &condition.target {
            Target::AnyField => self.push_any_field(condition),
            Target::Items { name, key } => self.push_items_condition(condition, name, key),
            _ => self.push_scalar_condition(condition),
        }
    }

    /// `"*"`: any string anywhere in the object.
    fn push_any_field(&mut self, condition: &Condition) {
        let Condition { op, values, .. } = condition;
        if *op == Op::NotContains {
            self.push("NOT ");
        }
        if self.is_postgres() {
            self.push("EXISTS (SELECT 1 FROM jsonb_path_query(data, 'lax $.**') AS v WHERE jsonb_typeof(v) = 'string' AND (v #>> '{}') ILIKE ");
        } else {
            self.push(
                "EXISTS (SELECT 1 FROM json_tree(data) AS v WHERE v.type = 'text' AND v.atom LIKE ",
            );
        }
        self.bind(like_pattern(*op, &values[0]))
            .push(" ESCAPE '\\')");
    }

    /// The items of an array property (or one key of each item).
    fn push_items_condition(&mut self, condition: &Condition, name: &str, key: &Option<String>) {
        let Condition { op, values, .. } = condition;
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
                self.like()
                    .bind(like_pattern(*op, &values[0]))
                    .push(" ESCAPE '\\'");
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

    /// A scalar property, the id or a timestamp.
    fn push_scalar_condition(&mut self, condition: &Condition) {
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
        match (target, op) {
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
                self.like()
                    .bind(like_pattern(*op, &values[0]))
                    .push(" ESCAPE '\\'");
            }
            (_, Op::NotContains) => {
                self.push("(");
                self.push_text(target);
                self.push(" IS NULL OR NOT (");
                self.push_text(target);
                self.like()
                    .bind(like_pattern(*op, &values[0]))
                    .push(" ESCAPE '\\'))");
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

/// The LIKE pattern of a text filter value, escaped.
fn like_pattern(op: Op, value: &Value) -> String {
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
}
