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
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::auth::Principal;
use crate::auth::principal::{ReadScope, Revisions, SchemaScope};

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
}

/// The default memory budget.
pub const DEFAULT_KEPT_BYTES: u64 = 64 * 1024 * 1024;

impl KeptAnswers {
    pub fn new(budget_bytes: u64) -> Self {
        KeptAnswers {
            entries: (budget_bytes > 0).then(|| {
                // quick_cache sizes its tables from an item estimate; 16 KiB per body.
                let items = (budget_bytes / 16_384).clamp(16, 1 << 20) as usize;
                Cache::with_weighter(items, budget_bytes, BodySize)
            }),
        }
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
