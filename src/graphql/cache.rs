//! One schema pair (current and legacy) per account, built from the account's models
//! and rebuilt when the schema revision its request authenticated with is newer, which
//! is how a change made by another instance on the same database is picked up.

use std::sync::Arc;

use async_graphql::dynamic::Schema;

use super::schema::{Flavor, Options, build};
use crate::auth::Principal;
use crate::content::models::Models;
use crate::error::{AppError, AppResult};
use crate::revision_cache::RevisionCache;

pub struct AccountSchemas {
    pub current: Schema,
    pub legacy: Schema,
    pub models: Arc<Models>,
}

pub struct SchemaCache {
    entries: RevisionCache<AccountSchemas>,
    pub options: Options,
}

impl SchemaCache {
    pub fn new(options: Options) -> Self {
        SchemaCache {
            entries: RevisionCache::default(),
            options,
        }
    }

    /// The schemas for `models`, which are the caller's account's at its authentication.
    pub async fn get(
        &self,
        principal: &Principal,
        models: Arc<Models>,
    ) -> AppResult<Arc<AccountSchemas>> {
        self.entries
            .get_or_build(
                &principal.account_id,
                principal.revisions.schema,
                || async {
                    Ok(AccountSchemas {
                        current: build(&models.ordered, Flavor::Current, self.options)
                            .map_err(AppError::Internal)?,
                        legacy: build(&models.ordered, Flavor::Legacy, self.options)
                            .map_err(AppError::Internal)?,
                        models,
                    })
                },
            )
            .await
    }
}
