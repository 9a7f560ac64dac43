//! Search hits as Flotiq writes them: the hit's rows rendered and hydrated in rank
//! order, each object with its own text as `object_data` and `@timestamp`.

use std::collections::{BTreeMap, HashMap};

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::auth::Principal;
use crate::content::definitions::models::Models;
use crate::content::objects::hydrate::render_hydrated;
use crate::content::objects::stored::{COLUMNS, StoredObject, fetch};
use crate::db::{Db, ReadKind, Sql};
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

#[derive(Debug, Serialize)]
pub struct Hit {
    pub score: f64,
    /// The rendered (and hydrated) object, with `object_data` and `@timestamp`.
    pub item: Box<RawValue>,
    #[serde(skip)]
    pub content_type: String,
    /// The rendered object alone, as GraphQL's nodes read it (a property named
    /// `object_data` or `@timestamp` is the object's own there).
    #[serde(skip)]
    pub object: Box<RawValue>,
}

/// The hits' rows, rendered and hydrated, in rank order, with Flotiq's extra fields.
pub(super) async fn render_hits(
    db: &Db,
    principal: &Principal,
    models: &Models,
    hits: Vec<(i64, f64)>,
    hydrate_depth: u8,
) -> AppResult<Vec<Hit>> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM content_objects WHERE pk IN ")
        .bind_list(hits.iter().map(|(pk, _)| *pk));
    let mut rows: HashMap<i64, StoredObject> = fetch(db, &sql, ReadKind::Indexed)
        .await?
        .into_iter()
        .map(|row| (row.pk, row))
        .collect();
    let mut ranked = Vec::with_capacity(hits.len());
    let mut scores = Vec::with_capacity(hits.len());
    for (pk, score) in hits {
        let Some(row) = rows.remove(&pk) else {
            continue;
        };
        if models.by_name.contains_key(&row.content_type) {
            scores.push(score);
            ranked.push(row);
        }
    }
    let items = render_hydrated(db, principal, &models.by_name, &ranked, hydrate_depth).await?;
    items
        .into_iter()
        .zip(scores)
        .zip(ranked)
        .map(|((object, score), row)| {
            let item = hit_item(&object, format_iso(row.updated_at))?;
            Ok(Hit {
                score,
                item,
                content_type: row.content_type,
                object,
            })
        })
        .collect()
}

/// Flotiq's search hit: the object, its own text as `object_data`, and `@timestamp`
/// (which replace properties of the same names, as they always did).
fn hit_item(object: &RawValue, timestamp: String) -> AppResult<Box<RawValue>> {
    let fields: BTreeMap<String, &RawValue> = serde_json::from_str(object.get())
        .map_err(|err| AppError::Internal(format!("search hit: {err}")))?;
    let item = HitItem {
        timestamp,
        object_data: object.get(),
        fields,
    };
    serde_json::value::to_raw_value(&item)
        .map_err(|err| AppError::Internal(format!("search hit: {err}")))
}

struct HitItem<'a> {
    timestamp: String,
    object_data: &'a str,
    fields: BTreeMap<String, &'a RawValue>,
}

impl Serialize for HitItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("@timestamp", &self.timestamp)?;
        map.serialize_entry("object_data", self.object_data)?;
        for (key, value) in &self.fields {
            if key != "@timestamp" && key != "object_data" {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}
