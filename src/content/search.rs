//! Full-text search across the types a caller may read. The read scope, the type list
//! and every filter are conditions of the one query that also pages and counts, so
//! pages are full and totals exact. Client text reaches the index only as plain words:
//! quoted FTS5 terms on SQLite, `plainto_tsquery` on PostgreSQL.

use std::collections::HashMap;

use entity::content_object;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter,
};
use serde_json::{Map, Value, json};

use super::definitions::model::is_name;
use super::definitions::models::Models;
use super::objects::hydrate::hydrate;
use super::objects::render;
use super::scope::count;
use crate::auth::principal::ReadScope;
use crate::auth::{Action, Principal};
use crate::db::Sql;
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

pub const MAX_BUCKETS: i64 = 100;
/// Bytes of one word of `q` at most (a word is matched with LIKE on `fields[]`).
pub const MAX_WORD_BYTES: usize = 256;
/// Words of `q` searched at most.
pub const MAX_WORDS: usize = 32;
/// Entries of each list parameter (`fields[]`, `filters[..]`, `content_type[]`,
/// `aggregate_by[]`) at most.
pub const MAX_LIST_ENTRIES: usize = 20;

/// Hits above which SQLite ranks a search from the index alone (see `search`).
const RANK_FROM_INDEX_ABOVE: u64 = 2_000;

#[derive(Debug, Default)]
pub struct SearchParams {
    pub q: String,
    pub content_types: Vec<String>,
    pub page: u64,
    pub limit: u64,
    /// First hit of the page (REST: `(page - 1) * limit`).
    pub offset: u64,
    pub order_by: Option<String>,
    pub descending: bool,
    /// Fields to search in, with their boosts (`title^3`).
    pub fields: Vec<(String, f64)>,
    /// `filters[prop]=value`: the property's value as text equals `value`.
    pub filters: Vec<(String, String)>,
    pub hydrate: u8,
    pub aggregate_by: Vec<String>,
}

/// The words of a query, lower-cased; `None` means "match everything".
fn words(q: &str) -> AppResult<Option<Vec<String>>> {
    let q = q.trim();
    if q.is_empty() || q == "*" {
        return Ok(None);
    }
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return Err(AppError::field("q", "The query has no words to search for"));
    }
    if let Some(word) = words.iter().find(|w| w.len() > MAX_WORD_BYTES) {
        return Err(AppError::field(
            "q",
            format!(
                "A word of {} bytes; words hold at most {MAX_WORD_BYTES}",
                word.len()
            ),
        ));
    }
    if words.len() > MAX_WORDS {
        return Err(AppError::field(
            "q",
            format!(
                "The query has {} words; at most {MAX_WORDS} are searched",
                words.len()
            ),
        ));
    }
    Ok(Some(words))
}

/// `title^3` → ("title", 3.0).
pub fn parse_field(spec: &str) -> AppResult<(String, f64)> {
    let (name, boost) = match spec.split_once('^') {
        Some((name, boost)) => (
            name,
            boost
                .parse::<f64>()
                .ok()
                .filter(|b| b.is_finite() && *b > 0.0),
        ),
        None => (spec, Some(1.0)),
    };
    match boost {
        Some(boost) if is_name(name) => Ok((name.to_owned(), boost)),
        _ => Err(AppError::field("fields", format!("Invalid field {spec}"))),
    }
}

struct Plan<'a> {
    principal: &'a Principal,
    params: &'a SearchParams,
    words: Option<Vec<String>>,
    types: ReadScope,
}

impl Plan<'_> {
    /// Full-text index matching is used unless specific fields were asked for.
    fn uses_index(&self) -> bool {
        self.words.is_some() && self.params.fields.is_empty()
    }

    /// Answered from the SQLite full-text index alone, without reading each hit's row:
    /// the index holds everything the query states (words, account, types, live).
    fn index_alone(&self) -> bool {
        self.uses_index()
            && self.params.filters.is_empty()
            && self
                .params
                .order_by
                .as_deref()
                .unwrap_or_default()
                .is_empty()
    }

    /// The FTS5 query: each word quoted and bound to the `body` column, so FTS5
    /// operators (NEAR, AND, *, -, :, parentheses) in client text are inert and client
    /// words never match the `scope` column. `scoped` adds the caller's account and
    /// readable types as tokens of that column, for plans that read no rows.
    fn fts_query(&self, scoped: bool) -> String {
        let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        let mut terms: Vec<String> = self
            .words
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|w| format!("body : {}", quoted(w)))
            .collect();
        if !scoped {
            return terms.join(" AND ");
        }
        terms.push(format!(
            "scope : {}",
            quoted(&scope_token('a', &self.principal.account_id))
        ));
        if let ReadScope::Only(types) = &self.types {
            let any: Vec<String> = types
                .iter()
                .map(|t| format!("scope : {}", quoted(&scope_token('t', t))))
                .collect();
            terms.push(if any.is_empty() {
                // No readable type: a token no object's scope holds.
                "scope : \"n\"".to_owned()
            } else {
                format!("({})", any.join(" OR "))
            });
        }
        terms.join(" AND ")
    }

    fn push_text(sql: &mut Sql, name: &str) {
        if sql.is_postgres() {
            sql.push("(o.data ->> ").json_path(name).push(")");
        } else {
            sql.push("CAST(json_extract(o.data, ")
                .json_path(name)
                .push(") AS TEXT)");
        }
    }

    fn push_score(&self, sql: &mut Sql) {
        if self.uses_index() {
            if sql.is_postgres() {
                sql.push("CAST(ts_rank(o.search, plainto_tsquery('simple', ")
                    .bind(self.words.as_deref().unwrap_or_default().join(" "))
                    .push(")) AS DOUBLE PRECISION)");
            } else {
                // The scope column weighs nothing: only the words rank.
                sql.push("-bm25(content_search, 1.0, 0.0)");
            }
        } else if let Some(words) = &self.words {
            // Boosted count of (field, word) matches.
            sql.push("CAST((0");
            for (field, boost) in &self.params.fields {
                for word in words {
                    sql.push(" + CASE WHEN ");
                    Self::push_text(sql, field);
                    sql.push(if sql.is_postgres() {
                        " ILIKE "
                    } else {
                        " LIKE "
                    })
                    .bind(like_pattern(word));
                    sql.push(" ESCAPE '\\' THEN ")
                        .bind(*boost)
                        .push(" ELSE 0 END");
                }
            }
            sql.push(") AS DOUBLE PRECISION)");
        } else {
            sql.push("CAST(1 AS DOUBLE PRECISION)");
        }
    }

    /// `FROM ... WHERE ...` shared by the page, the count and the aggregations;
    /// `extra_from` adds a table (the aggregation's items) before `WHERE`.
    fn push_from_where(&self, sql: &mut Sql, extra_from: Option<&str>) {
        if self.uses_index() && !sql.is_postgres() {
            // CROSS JOIN fixes the order: the index finds the hits, then each hit's row
            // is fetched, instead of probing the index once per row.
            sql.push(
                " FROM content_search CROSS JOIN content_objects o ON o.pk = content_search.rowid",
            );
        } else {
            sql.push(" FROM content_objects o");
        }
        if let Some(aggregate) = extra_from {
            if sql.is_postgres() {
                sql.push(", LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(o.data -> ")
                    .json_path(aggregate)
                    .push(") = 'array' THEN o.data -> ")
                    .json_path(aggregate)
                    .push(" ELSE jsonb_build_array(o.data -> ")
                    .json_path(aggregate)
                    .push(") END) AS item(value)");
            } else {
                sql.push(", json_each(o.data, ")
                    .json_path(aggregate)
                    .push(") AS item");
            }
        }
        sql.push(" WHERE o.account_id = ")
            .bind(self.principal.account_id.clone())
            .push(" AND o.deleted_at IS NULL");
        match &self.types {
            ReadScope::All => {}
            ReadScope::Only(types) if types.is_empty() => {
                sql.push(" AND 1 = 0");
            }
            ReadScope::Only(types) => {
                sql.push(" AND o.content_type IN ").bind_list(types.clone());
            }
        }
        if self.uses_index() {
            if sql.is_postgres() {
                sql.push(" AND o.search @@ plainto_tsquery('simple', ")
                    .bind(self.words.as_deref().unwrap_or_default().join(" "))
                    .push(")");
            } else {
                sql.push(" AND content_search MATCH ")
                    .bind(self.fts_query(false));
            }
        } else if let Some(words) = &self.words {
            // Every word must appear in one of the requested fields.
            for word in words {
                sql.push(" AND (1 = 0");
                for (field, _) in &self.params.fields {
                    sql.push(" OR ");
                    Self::push_text(sql, field);
                    sql.push(if sql.is_postgres() {
                        " ILIKE "
                    } else {
                        " LIKE "
                    })
                    .bind(like_pattern(word))
                    .push(" ESCAPE '\\'");
                }
                sql.push(")");
            }
        }
        for (name, value) in &self.params.filters {
            sql.push(" AND ");
            Self::push_text(sql, name);
            sql.push(" = ").bind(value.clone());
        }
        if extra_from.is_some() {
            sql.push(" AND item.value IS NOT NULL");
            if !sql.is_postgres() {
                sql.push(" AND item.type NOT IN ('object', 'array')");
            }
        }
    }

    fn push_order(&self, sql: &mut Sql) {
        let direction = if self.params.descending {
            " DESC"
        } else {
            " ASC"
        };
        sql.push(" ORDER BY score DESC");
        match self
            .params
            .order_by
            .as_deref()
            .map(|o| o.trim_end_matches(".keyword"))
        {
            None | Some("") => {}
            Some("internal.createdAt") => {
                sql.push(", o.created_at").push(direction);
            }
            Some("internal.updatedAt") => {
                sql.push(", o.updated_at").push(direction);
            }
            Some("id") => {
                sql.push(", o.object_id").push(direction);
            }
            Some(name) => {
                sql.push(", ");
                if sql.is_postgres() {
                    sql.push("(o.data -> ").json_path(name).push(")");
                } else {
                    sql.push("json_extract(o.data, ").json_path(name).push(")");
                }
                sql.push(direction);
            }
        }
        sql.push(", o.pk ASC");
    }
}

/// A token of the index's `scope` column, as the index triggers write it: a letter,
/// then the value's UTF-8 bytes in hex (the tokenizer folds the case).
fn scope_token(kind: char, value: &str) -> String {
    let mut token = kind.to_string();
    for byte in value.as_bytes() {
        token.push_str(&format!("{byte:02X}"));
    }
    token
}

fn like_pattern(word: &str) -> String {
    format!("%{}%", crate::db::like_escape(word))
}

#[derive(FromQueryResult)]
struct Bucket {
    bucket: String,
    num: i64,
}

pub async fn search(
    db: &DatabaseConnection,
    principal: &Principal,
    models: &Models,
    params: &SearchParams,
) -> AppResult<Value> {
    for (name, entries) in [
        ("fields", params.fields.len()),
        ("filters", params.filters.len()),
        ("content_type", params.content_types.len()),
        ("aggregate_by", params.aggregate_by.len()),
    ] {
        if entries > MAX_LIST_ENTRIES {
            return Err(AppError::field(
                name,
                format!("{entries} entries sent; at most {MAX_LIST_ENTRIES} are allowed"),
            ));
        }
    }
    // Naming a type the key may not read is refused; otherwise the search covers
    // exactly the readable types.
    for type_name in &params.content_types {
        principal.require(type_name, Action::Read)?;
    }
    let order = params
        .order_by
        .as_deref()
        .map(|o| o.trim_end_matches(".keyword"));
    let known = |o: &str| {
        matches!(o, "" | "internal.createdAt" | "internal.updatedAt" | "id") || is_name(o)
    };
    if let Some(order) = order.filter(|o| !known(o)) {
        return Err(AppError::field(
            "order_by",
            format!("Cannot order by {order}"),
        ));
    }
    for (name, _) in &params.filters {
        if !is_name(name) {
            return Err(AppError::field("filters", format!("Unknown field: {name}")));
        }
    }
    for name in &params.aggregate_by {
        if !is_name(name) {
            return Err(AppError::field(
                "aggregate_by",
                format!("Unknown field: {name}"),
            ));
        }
    }
    let types = if params.content_types.is_empty() {
        principal.read_scope()
    } else {
        ReadScope::Only(params.content_types.clone())
    };
    let plan = Plan {
        principal,
        params,
        words: words(&params.q)?,
        types,
    };
    let backend = db.get_database_backend();

    // The FTS query with the scope in it, when the index alone can answer.
    let scoped = (backend == DbBackend::Sqlite && plan.index_alone()).then(|| plan.fts_query(true));
    let mut sql = Sql::new(backend);
    if let Some(scoped) = &scoped {
        sql.push("SELECT COUNT(*) AS num FROM content_search WHERE content_search MATCH ")
            .bind(scoped.clone());
    } else {
        sql.push("SELECT COUNT(*) AS num");
        plan.push_from_where(&mut sql, None);
    }
    let total = count(db, &sql).await?;

    // The hits of the page are ranked on the index alone; only their rows are read.
    // Ranking from the index makes bm25 weigh the scope tokens' document counts too,
    // a pass over every object of the account: cheaper than reading the hits' rows only
    // when there are many hits.
    let mut sql = Sql::new(backend);
    if let Some(scoped) = scoped.filter(|_| total > RANK_FROM_INDEX_ABOVE) {
        sql.push("SELECT rowid AS pk, ");
        plan.push_score(&mut sql);
        sql.push(" AS score FROM content_search WHERE content_search MATCH ")
            .bind(scoped)
            .push(" ORDER BY score DESC, rowid ASC");
    } else {
        sql.push("SELECT o.pk AS pk, ");
        plan.push_score(&mut sql);
        sql.push(" AS score");
        plan.push_from_where(&mut sql, None);
        plan.push_order(&mut sql);
    }
    sql.push(" LIMIT ")
        .bind(params.limit as i64)
        .push(" OFFSET ")
        .bind(params.offset as i64);
    let hits = db.query_all_raw(sql.statement()).await?;
    let hits: Vec<(i64, f64)> = hits
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "pk")?,
                row.try_get::<f64>("", "score")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let mut rows: HashMap<i64, content_object::Model> = content_object::Entity::find()
        .filter(content_object::Column::Pk.is_in(hits.iter().map(|(pk, _)| *pk)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.pk, row))
        .collect();
    let mut objects = Vec::with_capacity(hits.len());
    let mut scores = Vec::with_capacity(hits.len());
    for (pk, score) in hits {
        let Some(object) = rows.remove(&pk) else {
            continue;
        };
        let Some(model) = models.by_name.get(&object.content_type) else {
            continue;
        };
        scores.push(score);
        objects.push((render(model, &object), object.updated_at));
    }
    let (mut items, updated): (Vec<Value>, Vec<i64>) = objects.into_iter().unzip();
    hydrate(db, principal, &models.by_name, &mut items, params.hydrate).await?;
    let data: Vec<Value> = items
        .into_iter()
        .zip(scores)
        .zip(updated)
        .map(|((item, score), updated)| {
            let object_data = item.to_string();
            let mut item = item;
            if let Some(fields) = item.as_object_mut() {
                fields.insert("object_data".into(), json!(object_data));
                fields.insert("@timestamp".into(), json!(format_iso(updated)));
            }
            json!({"score": score, "item": item})
        })
        .collect();

    let aggregations = if params.aggregate_by.is_empty() {
        json!([])
    } else {
        let mut result = Map::new();
        for name in &params.aggregate_by {
            result.insert(name.clone(), aggregate(db, &plan, name).await?);
        }
        Value::Object(result)
    };
    let count_on_page = data.len();
    Ok(json!({
        "total_count": total,
        "total_pages": total.div_ceil(params.limit.max(1)),
        "current_page": params.page,
        "count": count_on_page,
        "data": data,
        "summary": {"aggregations": aggregations},
    }))
}

/// Elasticsearch-style terms aggregation over the matched objects: one bucket per
/// value (per item for lists), most frequent first.
async fn aggregate<C: ConnectionTrait>(conn: &C, plan: &Plan<'_>, name: &str) -> AppResult<Value> {
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT CAST(item.value AS TEXT) AS bucket, COUNT(*) AS num");
    plan.push_from_where(&mut sql, Some(name));
    sql.push(" GROUP BY CAST(item.value AS TEXT) ORDER BY num DESC, bucket ASC LIMIT ")
        .bind(MAX_BUCKETS);
    let buckets = Bucket::find_by_statement(sql.statement()).all(conn).await?;
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*) AS num");
    plan.push_from_where(&mut sql, Some(name));
    let all = count(conn, &sql).await?;
    let shown: i64 = buckets.iter().map(|b| b.num).sum();
    Ok(json!({
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": all as i64 - shown,
        "buckets": buckets.iter().map(|b| json!({"key": b.bucket, "doc_count": b.num})).collect::<Vec<_>>(),
    }))
}
