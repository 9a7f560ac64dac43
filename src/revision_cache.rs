//! One value per account, built from the database for a revision of that account and
//! replaced whole when a request brings a newer revision. The revision comes from the
//! statement that authenticated the request, so a hit costs no statement at all.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::AppResult;

pub struct RevisionCache<T> {
    entries: ArcSwap<HashMap<String, (i64, Arc<T>)>>,
}

impl<T> Default for RevisionCache<T> {
    fn default() -> Self {
        RevisionCache {
            entries: ArcSwap::from_pointee(HashMap::new()),
        }
    }
}

impl<T> RevisionCache<T> {
    /// The account's value for `revision`, built by `build` unless already cached.
    pub async fn get_or_build<F, Fut>(
        &self,
        account_id: &str,
        revision: i64,
        build: F,
    ) -> AppResult<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        if let Some((_, cached)) = self
            .entries
            .load()
            .get(account_id)
            .filter(|(cached, _)| *cached == revision)
        {
            return Ok(cached.clone());
        }
        let built = Arc::new(build().await?);
        self.entries.rcu(|entries| {
            let mut entries = HashMap::clone(entries);
            // A slower build must not replace a newer one.
            if entries
                .get(account_id)
                .is_none_or(|(cached, _)| *cached <= revision)
            {
                entries.insert(account_id.to_owned(), (revision, built.clone()));
            }
            entries
        });
        Ok(built)
    }
}
