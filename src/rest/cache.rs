//! Rendered answers of the content GETs (object, list, search), kept in memory and
//! served again while nothing they depend on has changed.
//!
//! An entry is keyed by everything its body depends on: the account, the account's
//! schema and content revisions (read in the statement that authenticated the request,
//! and bumped in the transaction of every definition and object write, by any
//! instance), the caller's read scope, and the path with its query (the key itself
//! left out). So a hit is exactly what rendering again would give; a write anywhere in
//! the account makes its older entries unreachable, and they age out. The read scope in
//! the key decides every permission these reads check, so an answer kept for one key
//! is only ever served to a key the service would have given the same answer.

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::auth::Principal;
use crate::auth::principal::{ReadScope, Revisions};
use crate::error::AppResult;
use crate::http::QueryParams;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    account_id: String,
    revisions: Revisions,
    scope: ReadScope,
    /// Path and query, `auth_token` removed.
    request: String,
}

#[derive(Clone)]
struct BodySize;

impl Weighter<Key, Bytes> for BodySize {
    fn weight(&self, key: &Key, body: &Bytes) -> u64 {
        (body.len() + key.request.len() + 64) as u64
    }
}

/// Rendered bodies by request, up to a memory budget; a zero budget keeps nothing.
pub struct ResponseCache {
    entries: Option<Cache<Key, Bytes, BodySize>>,
}

/// The default memory budget of the cache.
pub const DEFAULT_BYTES: u64 = 64 * 1024 * 1024;

impl ResponseCache {
    pub fn new(budget_bytes: u64) -> Self {
        ResponseCache {
            entries: (budget_bytes > 0).then(|| {
                // quick_cache sizes its tables from an item estimate; 16 KiB per body.
                let items = (budget_bytes / 16_384).clamp(16, 1 << 20) as usize;
                Cache::with_weighter(items, budget_bytes, BodySize)
            }),
        }
    }

    /// The JSON answer to `path` with `query` for `principal`: the kept one, or
    /// `render`'s, kept. Errors are returned as they are and never kept.
    pub async fn json<F, Fut, T>(
        &self,
        principal: &Principal,
        path: &str,
        query: &QueryParams,
        render: F,
    ) -> AppResult<Response>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
        T: serde::Serialize,
    {
        let Some(entries) = &self.entries else {
            return Ok(json_response(encode(&render().await?)));
        };
        let key = Key {
            account_id: principal.account_id().to_owned(),
            revisions: principal.revisions(),
            scope: principal.read_scope(),
            request: request_key(path, query),
        };
        if let Some(body) = entries.get(&key) {
            return Ok(json_response(body));
        }
        let body = encode(&render().await?);
        entries.insert(key, body.clone());
        Ok(json_response(body))
    }
}

fn encode(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("a JSON value always serializes"))
}

fn json_response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The path and the query parameters in order, without the key.
fn request_key(path: &str, query: &QueryParams) -> String {
    let kept = query.0.iter().filter(|(name, _)| name != "auth_token");
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{query}")
}
