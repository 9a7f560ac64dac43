//! Schema pairs (current and legacy) per account, schema revision and key scope: each
//! key sees a schema built for what it may do, and a request whose authentication
//! brought a newer revision (a change made by any instance) gets a schema built for
//! it. Entries are bounded in number; older revisions and idle scopes age out.

use std::sync::Arc;

use async_graphql::dynamic::Schema;
use quick_cache::sync::Cache;

use super::schema::{Flavor, Options, build};
use crate::auth::Principal;
use crate::auth::principal::SchemaScope;
use crate::content::models::Models;
use crate::error::{AppError, AppResult};

/// Schemas kept at most: one per account, revision and distinct rule set in use.
pub const MAX_SCHEMAS: usize = 512;

pub struct AccountSchemas {
    pub current: Schema,
    pub legacy: Schema,
    pub models: Arc<Models>,
    /// GraphQL field names of relations (charged as lists by the complexity limit).
    pub relation_fields: std::collections::HashSet<String>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    account_id: String,
    schema_revision: i64,
    scope: SchemaScope,
}

pub struct SchemaCache {
    entries: Cache<Key, Arc<AccountSchemas>>,
    pub options: Options,
}

impl SchemaCache {
    pub fn new(options: Options) -> Self {
        SchemaCache {
            entries: Cache::new(MAX_SCHEMAS),
            options,
        }
    }

    /// The schemas `principal` sees of `models`, its account's at its authentication.
    pub async fn get(
        &self,
        principal: &Principal,
        models: Arc<Models>,
    ) -> AppResult<Arc<AccountSchemas>> {
        let key = Key {
            account_id: principal.account_id().to_owned(),
            schema_revision: principal.revisions().schema,
            scope: principal.schema_scope(),
        };
        let guard = match self.entries.get_value_or_guard_async(&key).await {
            Ok(schemas) => return Ok(schemas),
            Err(guard) => guard,
        };
        let schemas = Arc::new(AccountSchemas {
            current: build(&models.ordered, Flavor::Current, self.options, principal)
                .map_err(AppError::Internal)?,
            legacy: build(&models.ordered, Flavor::Legacy, self.options, principal)
                .map_err(AppError::Internal)?,
            relation_fields: super::schema::relation_field_names(&models.ordered),
            models,
        });
        let _ = guard.insert(schemas.clone());
        Ok(schemas)
    }
}
