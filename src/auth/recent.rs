//! Principals authenticated recently, reused only while nothing they are read from has
//! been committed since (see `ChangeWatch`): a key deleted or changed, by this process
//! or any other, is looked up again on its next request (on PostgreSQL, on the first
//! request after the commit's notification has arrived). Where the watch cannot tell,
//! every request is looked up.

use quick_cache::sync::Cache;
use sea_orm::DatabaseConnection;

use super::Principal;
use super::keys::KeyStore;
use crate::change_watch::ChangeWatch;
use crate::error::AppResult;

/// How many keys' principals are kept.
const CAPACITY: usize = 10_000;

pub struct RecentPrincipals {
    watch: ChangeWatch,
    /// By key digest (never the key itself), with the database version they were read at.
    entries: Cache<String, (i64, Principal)>,
}

impl RecentPrincipals {
    pub fn new(db: &DatabaseConnection) -> Self {
        RecentPrincipals {
            watch: ChangeWatch::on(db),
            entries: Cache::new(CAPACITY),
        }
    }

    /// Waits (briefly) until the change watch can tell whether principals are current.
    pub async fn ready(&self) {
        self.watch.ready(std::time::Duration::from_secs(5)).await;
    }

    /// The principal of a presented key, as `KeyStore::principal_of` reads it.
    pub async fn authenticate(&self, keys: &KeyStore, raw: &str) -> AppResult<Principal> {
        let digest = keys.digest_of(raw)?;
        // Read before the lookup: a commit after this makes the entry stale at once.
        let version = self.watch.version();
        if let Some(version) = version
            && let Some((seen, principal)) = self.entries.get(&digest)
            && seen == version
        {
            return current(principal);
        }
        let principal = keys.principal_of(&digest).await?;
        if let Some(version) = version {
            self.entries.insert(digest, (version, principal.clone()));
        }
        current(principal)
    }
}

/// An expired key, or a previous secret past its grace, is refused like any bad key.
fn current(principal: Principal) -> AppResult<Principal> {
    if principal.is_valid_at(crate::db::now_micros()) {
        Ok(principal)
    } else {
        Err(crate::error::AppError::Unauthorized)
    }
}
