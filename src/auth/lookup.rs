//! Authentication: the principal of a presented key's digest, read in one statement
//! with its rules, its limits and the account's revisions.

use std::collections::BTreeMap;

use sea_orm::FromQueryResult;

use super::access::KeyAccess;
use super::keys::KeyStore;
use super::principal::Revisions;
use super::{KeyKind, Perms, Principal};
use crate::db::Sql;
use crate::error::{AppError, AppResult};

/// One row of the authentication statement: the key, its account's revisions, and one
/// of its rules (none for application keys).
#[derive(FromQueryResult)]
struct KeyRow {
    key_id: String,
    account_id: String,
    kind: String,
    digest: String,
    expires_at: Option<i64>,
    previous_until: Option<i64>,
    origins: String,
    networks: String,
    persisted_only: bool,
    schema_revision: i64,
    content_revision: i64,
    content_type: Option<String>,
    can_create: Option<bool>,
    can_read: Option<bool>,
    can_update: Option<bool>,
    can_delete: Option<bool>,
}

impl KeyStore {
    /// The principal of the key stored under `digest`, with its rules and the account's
    /// revisions, in one statement; any failure is the same `Unauthorized`.
    pub async fn principal_of(&self, digest: &str) -> AppResult<Principal> {
        let mut sql = Sql::new(self.db.get_database_backend());
        sql.push(
            "SELECT k.id AS key_id, k.account_id AS account_id, k.kind AS kind, \
             k.digest AS digest, k.expires_at AS expires_at, k.previous_until AS previous_until, \
             k.origins AS origins, k.networks AS networks, a.persisted_only AS persisted_only, \
             a.schema_revision AS schema_revision, \
             (SELECT CAST(COALESCE(SUM(c.revision), 0) AS BIGINT) FROM content_counts c \
              WHERE c.account_id = k.account_id) AS content_revision, \
             r.content_type AS content_type, r.can_create AS can_create, r.can_read AS can_read, \
             r.can_update AS can_update, r.can_delete AS can_delete \
             FROM api_keys k JOIN accounts a ON a.id = k.account_id \
             LEFT JOIN key_rules r ON r.key_id = k.id WHERE k.digest = ",
        )
        .bind(digest.to_owned())
        // The secret before a rotation, during its grace period.
        .push(" OR k.previous_digest = ")
        .bind(digest.to_owned());
        let rows = KeyRow::find_by_statement(sql.statement())
            .all(&self.db)
            .await?;
        let first = rows.first().ok_or(AppError::Unauthorized)?;
        let kind = KeyKind::parse(&first.kind).ok_or(AppError::Unauthorized)?;
        let revisions = Revisions {
            schema: first.schema_revision,
            content: first.content_revision,
        };
        let (account_id, key_id) = (first.account_id.clone(), first.key_id.clone());
        let grace_end = if first.digest == digest {
            None
        } else {
            Some(first.previous_until.ok_or(AppError::Unauthorized)?)
        };
        let valid_until = [first.expires_at, grace_end].into_iter().flatten().min();
        let access = KeyAccess::from_columns(&first.origins, &first.networks);
        let persisted_only = first.persisted_only;
        let mut rules = BTreeMap::new();
        if kind == KeyKind::User {
            for row in rows {
                if let Some(content_type) = row.content_type {
                    let perms = Perms {
                        create: row.can_create.unwrap_or(false),
                        read: row.can_read.unwrap_or(false),
                        update: row.can_update.unwrap_or(false),
                        delete: row.can_delete.unwrap_or(false),
                    };
                    rules.insert(content_type, perms);
                }
            }
        }
        Ok(
            Principal::for_key(account_id, key_id, kind, rules, revisions)
                .limited(access, valid_until)
                .in_persisted_only_account(persisted_only),
        )
    }
}

/// What `GET /api/auth-context` tells a caller about its own key: never the secret.
#[derive(Debug, serde::Serialize)]
pub struct KeyContext {
    pub account: String,
    pub plan: String,
    pub key: super::keys::KeyView,
}

impl KeyStore {
    pub async fn context_of(&self, principal: &Principal) -> AppResult<KeyContext> {
        use sea_orm::EntityTrait;
        let account = entity::account::Entity::find_by_id(principal.account_id().to_owned())
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let key = entity::api_key::Entity::find_by_id(principal.key_id().to_owned())
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let rules = self.rules_of(&key.id).await?;
        Ok(KeyContext {
            account: account.name,
            plan: account.plan,
            key: super::key_rows::view(&key, None, rules),
        })
    }
}
