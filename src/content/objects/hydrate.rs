//! Hydration: relation references replaced by the objects they point at, one or two
//! levels deep. Related objects are loaded in one query per level, with the caller's
//! read scope inside that query; a reference to a type the caller may not read stays
//! exactly as stored, and a reference to a deleted object is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::content_object;
use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::Value;

use super::render::render_owned;
use crate::auth::Principal;
use crate::auth::principal::ReadScope;
use crate::content::definitions::TypeModel;
use crate::content::json_size;
use crate::content::refs::Reference;
use crate::content::scope::push_live;
use crate::db::Sql;
use crate::error::{AppError, AppResult};

pub const MAX_DEPTH: u8 = 2;
/// Related objects one answer may embed (each copy counts), checked before loading.
pub const MAX_EMBEDDED_OBJECTS: u64 = 10_000;
/// Bytes of related objects one answer may embed, checked before rendering.
pub const MAX_EMBEDDED_BYTES: u64 = 32 * 1024 * 1024;
/// Ids bound in one loading statement; more are loaded in several.
const IDS_PER_STATEMENT: usize = 500;

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

fn reference_key(item: &Value) -> Option<Reference> {
    Reference::from_item(item)
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

/// Loads live objects by (type, id), restricted to the read scope: one statement per
/// `IDS_PER_STATEMENT` ids (one for any page of ordinary size).
pub(crate) async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    keys: &BTreeSet<Reference>,
    models: &HashMap<String, TypeModel>,
) -> AppResult<HashMap<Reference, Value>> {
    let scope = principal.read_scope();
    let readable: Vec<&Reference> = keys
        .iter()
        .filter(|r| scope.contains(&r.type_name))
        .collect();
    let mut loaded = HashMap::new();
    for chunk in readable.chunks(IDS_PER_STATEMENT) {
        loaded.extend(load_chunk(db, principal, &scope, chunk, models).await?);
    }
    Ok(loaded)
}

async fn load_chunk(
    db: &DatabaseConnection,
    principal: &Principal,
    scope: &ReadScope,
    keys: &[&Reference],
    models: &HashMap<String, TypeModel>,
) -> AppResult<HashMap<Reference, Value>> {
    let mut by_type: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for reference in keys {
        by_type
            .entry(&reference.type_name)
            .or_default()
            .push(reference.id.clone());
    }
    // One branch per type, each answered from the live-id index; a branch exists only
    // for a readable type, and repeats the scope as its own condition.
    let mut sql = Sql::new(db.get_database_backend());
    for (i, (type_name, ids)) in by_type.into_iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT * FROM content_objects WHERE ");
        push_live(&mut sql, "", principal.account_id(), Some(type_name), scope);
        sql.push(" AND object_id IN ").bind_list(ids);
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
            let reference = Reference::new(&row.content_type, &row.object_id);
            Some((reference, render_owned(model, row)))
        })
        .collect())
}

/// Replaces readable references in `object` with loaded objects, dropping readable
/// references whose object no longer exists.
fn substitute(
    object: &mut Value,
    models: &HashMap<String, TypeModel>,
    scope: &ReadScope,
    loaded: &HashMap<Reference, Value>,
) {
    for name in relation_names(object, models) {
        let Some(Value::Array(items)) = object.get_mut(&name) else {
            continue;
        };
        let replaced = std::mem::take(items)
            .into_iter()
            .filter_map(|item| {
                let key = reference_key(&item);
                match key {
                    Some(key) if scope.contains(&key.type_name) => loaded.get(&key).cloned(),
                    _ => Some(item),
                }
            })
            .collect();
        *items = replaced;
    }
}

/// The readable references of one rendered object, in order, repeats kept.
fn readable_ref_list(
    object: &Value,
    models: &HashMap<String, TypeModel>,
    scope: &ReadScope,
) -> Vec<Reference> {
    let mut refs = Vec::new();
    for name in relation_names(object, models) {
        for item in object
            .get(&name)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = reference_key(item);
            refs.extend(key.filter(|key| scope.contains(&key.type_name)));
        }
    }
    refs
}

fn too_many(objects: u64) -> AppError {
    AppError::field(
        "hydrate",
        format!(
            "This answer would embed {objects} related objects; at most {MAX_EMBEDDED_OBJECTS} are allowed. Ask for a smaller page or hydrate=1."
        ),
    )
}

fn too_big(bytes: u64) -> AppError {
    AppError::field(
        "hydrate",
        format!(
            "This answer would embed {} MiB of related objects; at most {} MiB are allowed. Ask for a smaller page or hydrate=1.",
            bytes.div_ceil(1024 * 1024),
            MAX_EMBEDDED_BYTES / (1024 * 1024)
        ),
    )
}

/// Hydrates `objects` (rendered) to `depth` levels: `1 + depth` statements for any
/// page of ordinary size, whatever the number of objects. What the answer would embed
/// is counted before each level is loaded (every copy of an object counts, so an
/// answer cannot grow with the square of the references) and weighed before anything
/// is substituted; past `MAX_EMBEDDED_OBJECTS` or `MAX_EMBEDDED_BYTES` it is a 400.
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
    let top: Vec<Reference> = objects
        .iter()
        .flat_map(|object| readable_ref_list(object, models, &scope))
        .collect();
    let mut embedded = top.len() as u64;
    if embedded > MAX_EMBEDDED_OBJECTS {
        return Err(too_many(embedded));
    }
    let first = load(db, principal, &top.iter().cloned().collect(), models).await?;
    // Per loaded object: its own size and its readable references.
    let refs_of: HashMap<&Reference, Vec<Reference>> = first
        .iter()
        .map(|(key, object)| (key, readable_ref_list(object, models, &scope)))
        .collect();
    // Each loaded object is weighed once, however many copies of it the answer holds.
    let sizes = |loaded: &HashMap<Reference, Value>| -> HashMap<Reference, u64> {
        loaded
            .iter()
            .map(|(key, object)| (key.clone(), json_size(object)))
            .collect()
    };
    let size_of =
        |sizes: &HashMap<Reference, u64>, key: &Reference| sizes.get(key).copied().unwrap_or(0);
    let first_sizes = sizes(&first);
    let mut bytes: u64 = top.iter().map(|key| size_of(&first_sizes, key)).sum();
    let mut second = HashMap::new();
    if depth >= 2 {
        let nested: u64 = top
            .iter()
            .filter_map(|key| refs_of.get(key))
            .map(|refs| refs.len() as u64)
            .sum();
        embedded += nested;
        if embedded > MAX_EMBEDDED_OBJECTS {
            return Err(too_many(embedded));
        }
        let wanted: BTreeSet<Reference> = refs_of.values().flatten().cloned().collect();
        second = load(db, principal, &wanted, models).await?;
        let second_sizes = sizes(&second);
        let nested_size: HashMap<&Reference, u64> = refs_of
            .iter()
            .map(|(key, refs)| (*key, refs.iter().map(|r| size_of(&second_sizes, r)).sum()))
            .collect();
        bytes += top
            .iter()
            .map(|key| nested_size.get(key).copied().unwrap_or(0))
            .sum::<u64>();
    }
    if bytes > MAX_EMBEDDED_BYTES {
        return Err(too_big(bytes));
    }
    // Substitute bottom-up, so each level carries the hydrated level below it.
    let mut first = first;
    if depth >= 2 {
        for object in first.values_mut() {
            substitute(object, models, &scope, &second);
        }
    }
    for object in objects.iter_mut() {
        substitute(object, models, &scope, &first);
    }
    Ok(())
}
