//! Hydration: relation references replaced by the objects they point at, one or two
//! levels deep. Related objects are loaded in one query per level, with the caller's
//! read scope inside that query; a reference to a type the caller may not read stays
//! exactly as stored, and a reference to a deleted object is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use serde_json::value::RawValue;

use super::fields::{ObjectFields, weight};
use super::render::{Name, Substitutes, render_text, stored_properties};
use super::stored::{COLUMNS, StoredObject, fetch};
use crate::auth::Principal;
use crate::auth::principal::ReadScope;
use crate::content::definitions::TypeModel;
use crate::content::refs::Reference;
use crate::content::scope::{push_from_by_id, push_live};
use crate::db::{Db, ReadKind, Sql};
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

/// The readable references of one stored object's relations, in order, repeats kept.
fn readable_refs(
    row: &StoredObject,
    models: &HashMap<String, TypeModel>,
    scope: &ReadScope,
) -> AppResult<Vec<Reference>> {
    let Some(model) = models.get(&row.content_type) else {
        return Ok(Vec::new());
    };
    if !model.properties.iter().any(|p| p.relation.is_some()) {
        return Ok(Vec::new());
    }
    let data = stored_properties(row)?;
    let mut refs = Vec::new();
    for property in model.properties.iter().filter(|p| p.relation.is_some()) {
        let Some(raw) = data.get(&Name(property.name.as_str().into())) else {
            continue;
        };
        let Ok(items) = serde_json::from_str::<Vec<Value>>(raw.get()) else {
            continue;
        };
        refs.extend(
            items
                .iter()
                .filter_map(Reference::from_item)
                .filter(|key| scope.contains(&key.type_name)),
        );
    }
    Ok(refs)
}

/// Loads live objects by (type, id), restricted to the read scope: one statement per
/// `IDS_PER_STATEMENT` ids (one for any page of ordinary size).
pub(crate) async fn load_rows(
    db: &Db,
    principal: &Principal,
    keys: &BTreeSet<Reference>,
) -> AppResult<HashMap<Reference, StoredObject>> {
    let scope = principal.read_scope();
    let readable: Vec<&Reference> = keys
        .iter()
        .filter(|r| scope.contains(&r.type_name))
        .collect();
    let mut loaded = HashMap::new();
    for chunk in readable.chunks(IDS_PER_STATEMENT) {
        loaded.extend(load_chunk(db, principal, &scope, chunk).await?);
    }
    Ok(loaded)
}

/// `load_rows`, as resolvers read them (GraphQL's relation loader).
pub(crate) async fn load(
    db: &Db,
    principal: &Principal,
    keys: &BTreeSet<Reference>,
    models: &HashMap<String, TypeModel>,
) -> AppResult<HashMap<Reference, ObjectFields>> {
    let mut objects = HashMap::new();
    for (key, row) in load_rows(db, principal, keys).await? {
        if let Some(model) = models.get(&row.content_type) {
            objects.insert(key, ObjectFields::new(model, row)?);
        }
    }
    Ok(objects)
}

async fn load_chunk(
    db: &Db,
    principal: &Principal,
    scope: &ReadScope,
    keys: &[&Reference],
) -> AppResult<Vec<(Reference, StoredObject)>> {
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
        sql.push("SELECT ").push(COLUMNS);
        push_from_by_id(&mut sql);
        push_live(&mut sql, "", principal.account_id(), Some(type_name), scope);
        sql.push(" AND object_id IN ").bind_list(ids);
    }
    if sql.text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(fetch(db, &sql, ReadKind::Indexed)
        .await?
        .into_iter()
        .map(|row| (Reference::new(&row.content_type, &row.object_id), row))
        .collect())
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

/// Renders `rows` hydrated to `depth` levels: `1 + depth` statements for any page of
/// ordinary size, whatever the number of objects. What the answer would embed is
/// counted before each level is loaded (every copy of an object counts, so an answer
/// cannot grow with the square of the references) and weighed before anything is
/// rendered; past `MAX_EMBEDDED_OBJECTS` or `MAX_EMBEDDED_BYTES` it is a 400. Rows of
/// a type without a model are left out.
pub async fn render_hydrated(
    db: &Db,
    principal: &Principal,
    models: &HashMap<String, TypeModel>,
    rows: &[StoredObject],
    depth: u8,
) -> AppResult<Vec<Box<RawValue>>> {
    let scope = principal.read_scope();
    let render_all = |rows: &mut dyn Iterator<Item = &StoredObject>,
                      objects: Option<&HashMap<Reference, Box<RawValue>>>| {
        let substitutes = objects.map(|objects| Substitutes {
            scope: &scope,
            objects,
        });
        rows.filter_map(|row| {
            let model = models.get(&row.content_type)?;
            Some(render_text(model, row, substitutes.as_ref()))
        })
        .collect::<AppResult<Vec<Box<RawValue>>>>()
    };
    if depth == 0 || rows.is_empty() {
        return render_all(&mut rows.iter(), None);
    }
    let top: Vec<Reference> = rows
        .iter()
        .map(|row| readable_refs(row, models, &scope))
        .collect::<AppResult<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut embedded = top.len() as u64;
    if embedded > MAX_EMBEDDED_OBJECTS {
        return Err(too_many(embedded));
    }
    let first = load_rows(db, principal, &top.iter().cloned().collect()).await?;
    // Each loaded object is weighed once, however many copies the answer holds.
    let weights = |loaded: &HashMap<Reference, StoredObject>| -> HashMap<Reference, u64> {
        loaded
            .iter()
            .map(|(key, row)| (key.clone(), weight(models.get(&row.content_type), row)))
            .collect()
    };
    let weight_of =
        |weights: &HashMap<Reference, u64>, key: &Reference| weights.get(key).copied().unwrap_or(0);
    let first_weights = weights(&first);
    let mut bytes: u64 = top.iter().map(|key| weight_of(&first_weights, key)).sum();
    let mut second = None;
    if depth >= 2 {
        let refs_of: HashMap<&Reference, Vec<Reference>> = first
            .iter()
            .map(|(key, row)| Ok((key, readable_refs(row, models, &scope)?)))
            .collect::<AppResult<_>>()?;
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
        let loaded = load_rows(db, principal, &wanted).await?;
        let second_weights = weights(&loaded);
        bytes += top
            .iter()
            .filter_map(|key| refs_of.get(key))
            .flatten()
            .map(|key| weight_of(&second_weights, key))
            .sum::<u64>();
        second = Some(loaded);
    }
    if bytes > MAX_EMBEDDED_BYTES {
        return Err(too_big(bytes));
    }
    // Rendered bottom-up, so each level carries the hydrated level below it.
    let second_texts = second
        .map(|second| texts(models, &second, None))
        .transpose()?;
    let nested = second_texts.as_ref().map(|objects| Substitutes {
        scope: &scope,
        objects,
    });
    let first_texts = texts(models, &first, nested.as_ref())?;
    render_all(&mut rows.iter(), Some(&first_texts))
}

/// Each loaded object rendered once, however many references point at it.
fn texts(
    models: &HashMap<String, TypeModel>,
    loaded: &HashMap<Reference, StoredObject>,
    substitutes: Option<&Substitutes<'_>>,
) -> AppResult<HashMap<Reference, Box<RawValue>>> {
    let mut texts = HashMap::with_capacity(loaded.len());
    for (key, row) in loaded {
        if let Some(model) = models.get(&row.content_type) {
            texts.insert(key.clone(), render_text(model, row, substitutes)?);
        }
    }
    Ok(texts)
}
