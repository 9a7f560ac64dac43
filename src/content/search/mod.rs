//! Full-text search across the types a caller may read. The read scope, the type list
//! and every filter are conditions of the one query that also pages and counts, so
//! pages are full and totals exact. Client text reaches the index only as plain words:
//! quoted FTS5 terms on SQLite, `plainto_tsquery` on PostgreSQL.

mod hits;
mod plan;

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};
use serde::{Serialize, Serializer};

use super::definitions::model::is_name;
use super::definitions::models::Models;
use super::objects::stored;
use super::scope::count;
use crate::auth::principal::ReadScope;
use crate::auth::{Action, Principal};
use crate::db::{Db, ReadKind, Sql};
use crate::error::{AppError, AppResult};
pub use hits::Hit;
use hits::render_hits;
use plan::Plan;

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

pub async fn search(
    db: &Db,
    principal: &Principal,
    models: &Models,
    params: &SearchParams,
) -> AppResult<SearchPage> {
    check_params(principal, params)?;
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
    // Words matched by the full-text index alone are bounded per step; `fields[]`
    // (LIKE) and filters evaluate stored values (`ReadKind`).
    let kind = if plan.index_alone() {
        ReadKind::Indexed
    } else {
        ReadKind::Evaluating
    };
    let (hits, total) = if db.get_database_backend() == DbBackend::Sqlite
        && plan.index_alone()
        && word_hits_above(db, &plan, RANK_FROM_INDEX_ABOVE).await?
    {
        ranked_on_index(db, &plan).await?
    } else {
        ranked_on_rows(db, &plan, kind).await?
    };
    let data = render_hits(db, principal, models, hits, params.hydrate).await?;
    let mut aggregations = BTreeMap::new();
    for name in &params.aggregate_by {
        aggregations.insert(name.clone(), aggregate(&**db, &plan, name).await?);
    }
    Ok(SearchPage {
        total_count: total,
        total_pages: total.div_ceil(params.limit.max(1)),
        current_page: params.page,
        count: data.len() as u64,
        data,
        summary: Summary { aggregations },
    })
}

/// Refuses what a search cannot honour before anything is read: too many list entries,
/// a type the key may not read, names that are not property names.
fn check_params(principal: &Principal, params: &SearchParams) -> AppResult<()> {
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
    Ok(())
}

/// Whether the words match more than `above` objects of any account: an upper bound of
/// the caller's hits read from the words' own document lists, which stops at `above`.
async fn word_hits_above(db: &Db, plan: &Plan<'_>, above: u64) -> AppResult<bool> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT COUNT(*) AS num FROM (SELECT 1 FROM content_search WHERE content_search MATCH ",
    )
    .bind(plan.fts_query(false))
    .push(" LIMIT ")
    .bind(above as i64 + 1)
    .push(") AS hits");
    Ok(stored::count(db, &sql, ReadKind::Indexed).await? > above)
}

/// Many hits: counted and ranked on the index alone, with the caller's account and
/// types as tokens of the query, so only the page's rows are read. That makes FTS5 pass
/// over the scope tokens' document lists (every object of the account), cheaper than
/// reading every hit's row only when there are many hits.
async fn ranked_on_index(db: &Db, plan: &Plan<'_>) -> AppResult<(Vec<(i64, f64)>, u64)> {
    let backend = db.get_database_backend();
    let scoped = plan.fts_query(true);
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*) AS num FROM content_search WHERE content_search MATCH ")
        .bind(scoped.clone());
    let total = stored::count(db, &sql, ReadKind::Indexed).await?;
    if total <= RANK_FROM_INDEX_ABOVE {
        // Many hits in other accounts, few in this one.
        return ranked_on_rows(db, plan, ReadKind::Indexed).await;
    }
    let mut sql = Sql::new(backend);
    sql.push("SELECT rowid AS pk, ");
    plan.push_score(&mut sql);
    sql.push(" AS score, 0 AS num FROM content_search WHERE content_search MATCH ")
        .bind(scoped)
        .push(" ORDER BY score DESC, rowid ASC");
    push_page(&mut sql, plan.params);
    let (hits, _) = page_hits(db, &sql, ReadKind::Indexed).await?;
    Ok((hits, total))
}

/// The page's hits ranked on their rows, with the number of all hits counted in the
/// same statement; an empty page (past the last hit) is counted by a statement of its own.
async fn ranked_on_rows(
    db: &Db,
    plan: &Plan<'_>,
    kind: ReadKind,
) -> AppResult<(Vec<(i64, f64)>, u64)> {
    let backend = db.get_database_backend();
    // The hits are found in a subquery: SQLite refuses bm25 in a statement with a
    // window function.
    let mut sql = Sql::new(backend);
    sql.push("SELECT pk, score, COUNT(*) OVER () AS num FROM (SELECT o.pk AS pk, ");
    plan.push_score(&mut sql);
    sql.push(" AS score");
    plan.push_sort_key(&mut sql);
    plan.push_from_where(&mut sql, None);
    sql.push(") AS hits");
    plan.push_order(&mut sql);
    push_page(&mut sql, plan.params);
    let (hits, counted) = page_hits(db, &sql, kind).await?;
    let total = match counted {
        Some(total) => total,
        None if plan.params.offset == 0 => 0,
        None => {
            let mut sql = Sql::new(backend);
            sql.push("SELECT COUNT(*) AS num");
            plan.push_from_where(&mut sql, None);
            stored::count(db, &sql, kind).await?
        }
    };
    Ok((hits, total))
}

fn push_page(sql: &mut Sql, params: &SearchParams) {
    sql.push(" LIMIT ")
        .bind(params.limit as i64)
        .push(" OFFSET ")
        .bind(params.offset as i64);
}

/// The (pk, score) of each hit of a page statement, and the `num` of its first row.
async fn page_hits(
    db: &Db,
    sql: &Sql,
    kind: ReadKind,
) -> AppResult<(Vec<(i64, f64)>, Option<u64>)> {
    let rows: Vec<(i64, f64, i64)> = match db.quick(sql, kind, |row| {
        Ok((row.get("pk")?, row.get("score")?, row.get("num")?))
    }) {
        Some(rows) => rows,
        None => db
            .query_all_raw(sql.statement())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<i64>("", "pk")?,
                    row.try_get::<f64>("", "score")?,
                    row.try_get::<i64>("", "num")?,
                ))
            })
            .collect::<Result<_, sea_orm::DbErr>>()?,
    };
    let counted = rows.first().map(|row| u64::try_from(row.2).unwrap_or(0));
    Ok((
        rows.into_iter().map(|(pk, score, _)| (pk, score)).collect(),
        counted,
    ))
}

/// One page of hits, in Flotiq's search shape.
#[derive(Debug, Serialize)]
pub struct SearchPage {
    pub total_count: u64,
    pub total_pages: u64,
    pub current_page: u64,
    pub count: u64,
    pub data: Vec<Hit>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// By property; Flotiq answers `[]` when none were asked for.
    #[serde(serialize_with = "empty_as_list")]
    pub aggregations: BTreeMap<String, Aggregation>,
}

fn empty_as_list<S: Serializer>(
    aggregations: &BTreeMap<String, Aggregation>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if aggregations.is_empty() {
        <[(); 0]>::default().serialize(serializer)
    } else {
        aggregations.serialize(serializer)
    }
}

/// An Elasticsearch-style terms aggregation.
#[derive(Debug, Serialize)]
pub struct Aggregation {
    pub doc_count_error_upper_bound: i64,
    pub sum_other_doc_count: i64,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Serialize, FromQueryResult)]
pub struct Bucket {
    #[serde(rename = "key")]
    pub bucket: String,
    #[serde(rename = "doc_count")]
    pub num: i64,
}

/// Elasticsearch-style terms aggregation over the matched objects: one bucket per
/// value (per item for lists), most frequent first.
async fn aggregate<C: ConnectionTrait>(
    conn: &C,
    plan: &Plan<'_>,
    name: &str,
) -> AppResult<Aggregation> {
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
    Ok(Aggregation {
        doc_count_error_upper_bound: 0,
        sum_other_doc_count: all as i64 - shown,
        buckets,
    })
}
