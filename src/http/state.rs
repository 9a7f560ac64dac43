//! What every HTTP adapter stands on: the database, the key store, the quota meter and
//! the type models. Each adapter keeps its own state beside it (REST its kept answers,
//! GraphQL its schemas); the composition root in `app.rs` assembles them.

use std::sync::Arc;

use crate::db::Db;

use crate::auth::Principal;
use crate::auth::keys::KeyStore;
use crate::auth::lookup::KeyContext;
use crate::auth::recent::RecentPrincipals;
use crate::content::models::{ModelCache, Models};
use crate::content::types::SchemaCheck;
use crate::error::AppResult;
use crate::quota::Meter;

#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    /// Reached only through `authenticate`: no handler looks keys up itself.
    pub(super) keys: KeyStore,
    pub(super) principals: Arc<RecentPrincipals>,
    pub models: Arc<ModelCache>,
    pub quota: Arc<Meter>,
    /// Refuses content type changes that another adapter could not serve (GraphQL's
    /// schema check), injected by the composition root.
    pub check_definitions: SchemaCheck,
}

impl Shared {
    pub fn new(db: Db, keys: KeyStore, quota: Arc<Meter>, check_definitions: SchemaCheck) -> Self {
        Shared {
            principals: Arc::new(RecentPrincipals::new(&db)),
            db,
            keys,
            models: Arc::new(ModelCache::default()),
            quota,
            check_definitions,
        }
    }

    /// Waits (briefly) until keys read by one request can be reused by the next.
    pub async fn ready(&self) {
        self.principals.ready().await;
    }

    /// What the caller's key is, for `GET /api/auth-context` (never its secret).
    pub async fn key_context(&self, principal: &Principal) -> AppResult<KeyContext> {
        self.keys.context_of(principal).await
    }

    /// The caller's account's type models, as of its authentication.
    pub async fn models(&self, principal: &Principal) -> AppResult<Arc<Models>> {
        Models::current(&self.models, &*self.db, principal).await
    }
}
