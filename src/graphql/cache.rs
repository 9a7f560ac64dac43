//! One schema pair (current and legacy) per account, cached and swapped whole. Each
//! request reads the account's schema revision (one indexed read) and rebuilds when
//! another request, or another instance on the same database, changed the model.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_graphql::dynamic::Schema;
use sea_orm::{DatabaseConnection, EntityTrait};

use super::schema::{Flavor, Options, build};
use crate::content::definition::TypeModel;
use crate::content::types::models_in_order;
use crate::error::{AppError, AppResult};

pub struct AccountSchemas {
    pub revision: i64,
    pub current: Schema,
    pub legacy: Schema,
    pub models: Arc<HashMap<String, TypeModel>>,
}

pub struct SchemaCache {
    entries: ArcSwap<HashMap<String, Arc<AccountSchemas>>>,
    pub options: Options,
}

impl SchemaCache {
    pub fn new(options: Options) -> Self {
        SchemaCache {
            entries: ArcSwap::from_pointee(HashMap::new()),
            options,
        }
    }

    pub async fn get(
        &self,
        db: &DatabaseConnection,
        account_id: &str,
    ) -> AppResult<Arc<AccountSchemas>> {
        let revision = entity::account::Entity::find_by_id(account_id.to_owned())
            .one(db)
            .await?
            .ok_or(AppError::Unauthorized)?
            .schema_revision;
        if let Some(cached) = self
            .entries
            .load()
            .get(account_id)
            .filter(|c| c.revision == revision)
        {
            return Ok(cached.clone());
        }
        let models = models_in_order(db, account_id).await?;
        let built = Arc::new(AccountSchemas {
            revision,
            current: build(&models, Flavor::Current, self.options).map_err(AppError::Internal)?,
            legacy: build(&models, Flavor::Legacy, self.options).map_err(AppError::Internal)?,
            models: Arc::new(models.into_iter().map(|m| (m.name.clone(), m)).collect()),
        });
        self.entries.rcu(|entries| {
            let mut entries = HashMap::clone(entries);
            // A slower rebuild must not replace a newer schema.
            if entries
                .get(account_id)
                .is_none_or(|c| c.revision <= revision)
            {
                entries.insert(account_id.to_owned(), built.clone());
            }
            entries
        });
        Ok(built)
    }
}
