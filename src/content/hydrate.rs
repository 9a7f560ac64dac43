//! Hydration: relation references replaced by the objects they point at, one or two
//! levels deep. Related objects are loaded in one query per level, with the caller's
//! read scope inside that query; a reference to a type the caller may not read stays
//! exactly as stored, and a reference to a deleted object is dropped.

use std::collections::{BTreeSet, HashMap};

use entity::content_object;
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::Value;

use super::definition::TypeModel;
use super::objects::render;
use crate::auth::Principal;
use crate::auth::principal::ReadScope;
use crate::db::Sql;
use crate::error::{AppError, AppResult};

pub const MAX_DEPTH: u8 = 2;

/// `hydrate` as clients send it: absent, 0, 1 or 2.
pub fn parse_depth(raw: Option<&str>) -> AppResult<u8> {
    match raw.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|d| *d <= MAX_DEPTH)
            .ok_or_else(|| AppError::field("hydrate", "This value should be 0, 1 or 2.")),
    }
}

pub(crate) type Key = (String, String);

fn parse_data_url(url: &str) -> Option<Key> {
    let (type_name, id) = url.strip_prefix("/api/v1/content/")?.split_once('/')?;
    (!type_name.is_empty() && !id.is_empty()).then(|| (type_name.to_owned(), id.to_owned()))
}

/// Names of the relation properties of a rendered object's type.
fn relation_names(object: &Value, models: &HashMap<String, TypeModel>) -> Vec<String> {
    let model = object
        .pointer("/internal/contentType")
        .and_then(Value::as_str)
        .and_then(|t| models.get(t));
    model
        .into_iter()
        .flat_map(|m| m.properties.iter())
        .filter(|p| p.relation.is_some())
        .map(|p| p.name.clone())
        .collect()
}

/// The relation references of a rendered object that the caller may read.
fn readable_refs(
    object: &Value,
    models: &HashMap<String, TypeModel>,
    scope: &ReadScope,
    into: &mut BTreeSet<Key>,
) {
    for name in relation_names(object, models) {
        for item in object
            .get(&name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = item
                .get("dataUrl")
                .and_then(Value::as_str)
                .and_then(parse_data_url);
            if let Some(key) = key.filter(|key| scope.contains(&key.0)) {
                into.insert(key);
            }
        }
    }
}

/// Loads live objects by (type, id) in one statement, restricted to the read scope.
pub(crate) async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    keys: &BTreeSet<Key>,
    models: &HashMap<String, TypeModel>,
) -> AppResult<HashMap<Key, Value>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut by_type: HashMap<&str, Vec<String>> = HashMap::new();
    for (type_name, id) in keys {
        by_type.entry(type_name).or_default().push(id.clone());
    }
    let scope = principal.read_scope();
    // One branch per type, each answered from the live-id index; a branch exists only
    // for a readable type, and repeats the scope as its own condition.
    let mut sql = Sql::new(db.get_database_backend());
    for (i, (type_name, ids)) in by_type
        .into_iter()
        .filter(|(t, _)| scope.contains(t))
        .enumerate()
    {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT * FROM content_objects WHERE account_id = ")
            .bind(principal.account_id.clone())
            .push(" AND content_type = ")
            .bind(type_name.to_owned())
            .push(" AND deleted_at IS NULL AND object_id IN ")
            .bind_list(ids);
        if let ReadScope::Only(types) = &scope {
            sql.push(" AND content_type IN ").bind_list(types.clone());
        }
    }
    if sql.text.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = content_object::Model::find_by_statement(sql.statement())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let model = models.get(&row.content_type)?;
            Some((
                (row.content_type.clone(), row.object_id.clone()),
                render(model, &row),
            ))
        })
        .collect())
}

/// Replaces readable references in `object` with loaded objects, dropping readable
/// references whose object no longer exists.
fn substitute(
    object: &mut Value,
    models: &HashMap<String, TypeModel>,
    scope: &ReadScope,
    loaded: &HashMap<Key, Value>,
) {
    for name in relation_names(object, models) {
        let Some(Value::Array(items)) = object.get_mut(&name) else {
            continue;
        };
        let replaced = std::mem::take(items)
            .into_iter()
            .filter_map(|item| {
                let key = item
                    .get("dataUrl")
                    .and_then(Value::as_str)
                    .and_then(parse_data_url);
                match key {
                    Some(key) if scope.contains(&key.0) => loaded.get(&key).cloned(),
                    _ => Some(item),
                }
            })
            .collect();
        *items = replaced;
    }
}

/// Hydrates `objects` (rendered) to `depth` levels: `1 + depth` statements at most,
/// whatever the number of objects or references.
pub async fn hydrate(
    db: &DatabaseConnection,
    principal: &Principal,
    models: &HashMap<String, TypeModel>,
    objects: &mut [Value],
    depth: u8,
) -> AppResult<()> {
    if depth == 0 || objects.is_empty() {
        return Ok(());
    }
    let scope = principal.read_scope();
    // Load level by level, top-down.
    let mut levels: Vec<HashMap<Key, Value>> = Vec::new();
    let mut wanted = BTreeSet::new();
    for object in objects.iter() {
        readable_refs(object, models, &scope, &mut wanted);
    }
    for level in 0..depth {
        let loaded = load(db, principal, &wanted, models).await?;
        wanted = BTreeSet::new();
        if level + 1 < depth {
            for object in loaded.values() {
                readable_refs(object, models, &scope, &mut wanted);
            }
        }
        levels.push(loaded);
    }
    // Substitute bottom-up, so each level carries the hydrated level below it.
    while let Some(loaded) = levels.pop() {
        match levels.last_mut() {
            Some(parent) => {
                for object in parent.values_mut() {
                    substitute(object, models, &scope, &loaded);
                }
            }
            None => {
                for object in objects.iter_mut() {
                    substitute(object, models, &scope, &loaded);
                }
            }
        }
    }
    Ok(())
}
