//! Kept answers: rendered bodies of reads (REST objects, lists and searches; GraphQL
//! queries), served again while nothing they depend on has changed. One memory budget
//! for both adapters (`--response-cache-mb`).
//!
//! An entry is keyed by everything its body depends on: the account, the account's
//! schema and content revisions (read in the statement that authenticated the request,
//! and bumped in the transaction of every definition and object write, by any
//! instance), the caller's scope (the read scope for REST, the whole rule set for
//! GraphQL, whose schema differs with it), and the request itself with the key left
//! out. So a hit is exactly what rendering again would give; a write anywhere in the
//! account makes its older entries unreachable, and they age out. An answer kept for
//! one key is only ever served to a key the services would have answered alike.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::auth::principal::{ReadScope, Revisions, SchemaScope};
use crate::auth::{Principal, ServerSecret};

/// What decides an answer besides the account and the request.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum KeptScope {
    Read(ReadScope),
    Schema(SchemaScope),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct KeptKey {
    account_id: String,
    revisions: Revisions,
    scope: KeptScope,
    /// The request as the adapter names it, never holding the key.
    request: String,
}

impl KeptKey {
    pub fn new(principal: &Principal, scope: KeptScope, request: String) -> Self {
        KeptKey {
            account_id: principal.account_id().to_owned(),
            revisions: principal.revisions(),
            scope,
            request,
        }
    }

    /// The answer's entity tag: a keyed digest (under the server secret, so no client
    /// can compute one for a request it could not make) of everything the key holds and
    /// of the server's version, whose rendering may differ. Equal tags mean equal bodies
    /// on every instance, and a client can be told "not modified" without rendering.
    pub fn etag(&self, secret: &ServerSecret) -> HeaderValue {
        let revisions = format!("{:?}", self.revisions);
        let scope = format!("{:?}", self.scope);
        let tag = secret.tag(&[
            env!("CARGO_PKG_VERSION").as_bytes(),
            self.account_id.as_bytes(),
            revisions.as_bytes(),
            scope.as_bytes(),
            self.request.as_bytes(),
        ]);
        let hex: String = tag[..16].iter().map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a header value")
    }
}

/// Whether `If-None-Match` names `etag`; weak tags compare as strong ones. `*` is never
/// taken: it would answer 304 before the checks that make a request an error (a
/// missing object, a type out of scope), and hand out a tag for it.
pub fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag.trim_start_matches("W/").as_bytes() == etag)
}

/// Headers of a read answer that a browser may keep but must revalidate.
pub fn read_headers(headers: &mut HeaderMap, etag: HeaderValue) {
    headers.insert(header::ETAG, etag);
    // Another key may get another answer at the same URL: a browser's copy is per key.
    headers.append(header::VARY, HeaderValue::from_static("x-auth-token"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
}

/// `304 Not Modified` with the tag and read headers (the allowance headers are added
/// as for any answer).
pub fn not_modified_response(etag: HeaderValue) -> axum::response::Response {
    let mut response = axum::http::StatusCode::NOT_MODIFIED.into_response();
    read_headers(response.headers_mut(), etag);
    response
}

#[derive(Clone)]
struct BodySize;

impl Weighter<KeptKey, Bytes> for BodySize {
    fn weight(&self, key: &KeptKey, body: &Bytes) -> u64 {
        (body.len() + key.request.len() + key.scope.weight() + 64) as u64
    }
}

impl KeptScope {
    /// About what the scope's copy in a key costs in memory.
    fn weight(&self) -> usize {
        match self {
            KeptScope::Read(scope) => scope.weight(),
            KeptScope::Schema(scope) => scope.weight(),
        }
    }
}

/// Rendered bodies by request, up to a memory budget; a zero budget keeps nothing.
pub struct KeptAnswers {
    entries: Option<Cache<KeptKey, Bytes, BodySize>>,
    /// Keys the answers' entity tags.
    secret: ServerSecret,
}

/// The default memory budget.
pub const DEFAULT_KEPT_BYTES: u64 = 64 * 1024 * 1024;

impl KeptAnswers {
    pub fn new(budget_bytes: u64, secret: ServerSecret) -> Self {
        KeptAnswers {
            secret,
            entries: (budget_bytes > 0).then(|| {
                // quick_cache sizes its tables from an item estimate; 16 KiB per body.
                let items = (budget_bytes / 16_384).clamp(16, 1 << 20) as usize;
                Cache::with_weighter(items, budget_bytes, BodySize)
            }),
        }
    }

    /// The entity tag of the answer kept (or that would be kept) under `key`.
    pub fn etag(&self, key: &KeptKey) -> HeaderValue {
        key.etag(&self.secret)
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    pub fn get(&self, key: &KeptKey) -> Option<Bytes> {
        self.entries.as_ref()?.get(key)
    }

    pub fn insert(&self, key: KeptKey, body: Bytes) {
        if let Some(entries) = &self.entries {
            entries.insert(key, body);
        }
    }
}
