//! Persisted GraphQL documents per account (Apollo's automatic persisted queries and
//! operator-stored ones), by the SHA-256 of their text. In the database, so every
//! instance knows what any instance stored; a hash names one text forever, so what an
//! instance read once it may keep in memory.

use std::sync::Arc;

use quick_cache::sync::Cache;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};

use crate::db::{Sql, now_micros};
use crate::error::{AppError, AppResult};

/// How many documents an account may store; past it registrations are refused.
pub const MAX_PER_ACCOUNT: i64 = 5_000;

/// The lowercase hex SHA-256 of a document, as Apollo's clients send it.
pub fn hash_of(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct PersistedDocuments {
    known: Cache<(String, String), Arc<str>>,
}

impl Default for PersistedDocuments {
    fn default() -> Self {
        PersistedDocuments {
            known: Cache::new(10_000),
        }
    }
}

impl PersistedDocuments {
    /// The document stored under `hash` for the account, if any.
    pub async fn find(
        &self,
        db: &DatabaseConnection,
        account_id: &str,
        hash: &str,
    ) -> AppResult<Option<Arc<str>>> {
        let key = (account_id.to_owned(), hash.to_owned());
        if let Some(document) = self.known.get(&key) {
            return Ok(Some(document));
        }
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT document FROM persisted_queries WHERE account_id = ")
            .bind(account_id)
            .push(" AND hash = ")
            .bind(hash);
        let Some(row) = db.query_one_raw(sql.statement()).await? else {
            return Ok(None);
        };
        let document: Arc<str> = row.try_get::<String>("", "document")?.into();
        self.known.insert(key, document.clone());
        Ok(Some(document))
    }

    /// Stores `document` for the account (idempotent); returns its hash.
    pub async fn store(
        &self,
        db: &DatabaseConnection,
        account_id: &str,
        document: &str,
    ) -> AppResult<String> {
        let hash = hash_of(document);
        if self.find(db, account_id, &hash).await?.is_some() {
            return Ok(hash);
        }
        let backend = db.get_database_backend();
        // Counted and inserted under one lock, so concurrent registrations cannot pass
        // the maximum together.
        let txn = crate::db::begin_write(db).await?;
        crate::db::lock_name(&txn, &format!("{account_id}#persisted")).await?;
        let mut count = Sql::new(backend);
        count
            .push("SELECT COUNT(*) AS n FROM persisted_queries WHERE account_id = ")
            .bind(account_id);
        let stored: i64 = match txn.query_one_raw(count.statement()).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        if stored >= MAX_PER_ACCOUNT {
            return Err(AppError::BadRequest(format!(
                "The account stores at most {MAX_PER_ACCOUNT} persisted queries"
            )));
        }
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO persisted_queries (account_id, hash, document, created_at) VALUES (")
            .bind(account_id)
            .push(", ")
            .bind(hash.as_str())
            .push(", ")
            .bind(document)
            .push(", ")
            .bind(now_micros())
            .push(") ON CONFLICT (account_id, hash) DO NOTHING");
        txn.execute_raw(sql.statement()).await?;
        crate::db::commit(db, txn).await?;
        Ok(hash)
    }

    /// The account's stored hashes, oldest first.
    pub async fn list(db: &DatabaseConnection, account_id: &str) -> AppResult<Vec<String>> {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT hash FROM persisted_queries WHERE account_id = ")
            .bind(account_id)
            .push(" ORDER BY created_at, hash");
        let rows = db.query_all_raw(sql.statement()).await?;
        rows.iter()
            .map(|row| row.try_get::<String>("", "hash").map_err(AppError::from))
            .collect()
    }
}

/// Switches an account to running only stored documents, or back.
pub async fn set_persisted_only(
    db: &DatabaseConnection,
    account_id: &str,
    only: bool,
) -> AppResult<()> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE accounts SET persisted_only = ")
        .bind(only)
        .push(" WHERE id = ")
        .bind(account_id);
    // In a transaction ended by `db::commit`, like every write a key's principal is
    // read from: this process must not reuse a principal from before it.
    let txn = crate::db::begin_write(db).await?;
    txn.execute_raw(sql.statement()).await?;
    crate::db::commit(db, txn).await?;
    Ok(())
}
