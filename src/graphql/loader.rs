//! Per-request loader of related objects. It is created for one request with that
//! request's principal, so every batch it runs carries the caller's read scope; one
//! query per batch, whatever the number of parents.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use serde_json::Value;

use crate::auth::Principal;
use crate::content::hydrate::load;
use crate::content::models::Models;
use crate::content::refs::Reference;
use crate::db::Db;
use crate::error::AppError;

pub struct RelationLoader {
    pub db: Db,
    pub principal: Principal,
    pub models: Arc<Models>,
}

/// A loaded object, shared (each reference to it gets the same copy), and its weight
/// (`StoredObject::weight`), counted for every copy.
pub type Sized = (Arc<Value>, u64);

impl Loader<Reference> for RelationLoader {
    type Value = Sized;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Reference]) -> Result<HashMap<Reference, Sized>, Self::Error> {
        let keys: BTreeSet<Reference> = keys.iter().cloned().collect();
        let loaded = load(&self.db, &self.principal, &keys, &self.models.by_name)
            .await
            .map_err(Arc::new)?;
        Ok(loaded
            .into_iter()
            .map(|(key, (object, size))| (key, (Arc::new(object), size)))
            .collect())
    }
}
