//! Key management (for the command line and, later, the admin panel) and request
//! authentication. No HTTP route reaches the management functions.

use std::collections::BTreeMap;

use entity::{account, api_key, key_rule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::principal::Revisions;
use super::{ApiToken, KeyKind, Perms, Principal, ServerSecret};
use crate::db::{Sql, now_micros};
use crate::error::{AppError, AppResult};
use crate::quota::Plans;
use crate::time::format_iso;

#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub content_type: String,
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
}

/// A key as the command line prints it. `key` is `None` for show-once keys.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub key: Option<String>,
    pub rules: Vec<RuleView>,
    pub created_at: String,
}

/// One row of the authentication statement: the key, its account's revisions, and one
/// of its rules (none for application keys).
#[derive(FromQueryResult)]
struct KeyRow {
    key_id: String,
    account_id: String,
    kind: String,
    schema_revision: i64,
    content_revision: i64,
    content_type: Option<String>,
    can_create: Option<bool>,
    can_read: Option<bool>,
    can_update: Option<bool>,
    can_delete: Option<bool>,
}

/// Which key `regenerate` acts on.
pub enum KeyRef {
    Id(String),
    Application(KeyKind),
}

/// Key storage bound to the server secret.
#[derive(Clone)]
pub struct KeyStore {
    pub db: DatabaseConnection,
    pub secret: ServerSecret,
    /// Keep no sealed copy: a key is shown once, when it is made.
    pub show_once: bool,
}

impl KeyStore {
    /// The stored form of a presented key; a malformed one is `Unauthorized`.
    pub fn digest_of(&self, raw: &str) -> AppResult<String> {
        let token = ApiToken::parse(raw).ok_or(AppError::Unauthorized)?;
        Ok(self.secret.digest(&token))
    }

    /// The principal of the key stored under `digest`, with its rules and the account's
    /// revisions, in one statement; any failure is the same `Unauthorized`.
    pub async fn principal_of(&self, digest: &str) -> AppResult<Principal> {
        let mut sql = Sql::new(self.db.get_database_backend());
        sql.push(
            "SELECT k.id AS key_id, k.account_id AS account_id, k.kind AS kind, \
             a.schema_revision AS schema_revision, \
             (SELECT CAST(COALESCE(SUM(c.revision), 0) AS BIGINT) FROM content_counts c \
              WHERE c.account_id = k.account_id) AS content_revision, \
             r.content_type AS content_type, r.can_create AS can_create, r.can_read AS can_read, \
             r.can_update AS can_update, r.can_delete AS can_delete \
             FROM api_keys k JOIN accounts a ON a.id = k.account_id \
             LEFT JOIN key_rules r ON r.key_id = k.id WHERE k.digest = ",
        )
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
        Ok(Principal::for_key(
            account_id, key_id, kind, rules, revisions,
        ))
    }

    /// Creates a key row (and returns its secret) inside the caller's transaction.
    pub async fn insert_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        account_id: &str,
        name: &str,
        kind: KeyKind,
    ) -> AppResult<(api_key::Model, ApiToken)> {
        let token = ApiToken::generate();
        let now = now_micros();
        let model = api_key::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            account_id: Set(account_id.to_owned()),
            name: Set(name.to_owned()),
            kind: Set(kind.as_str().to_owned()),
            digest: Set(self.secret.digest(&token)),
            sealed: Set((!self.show_once).then(|| self.secret.seal(&token))),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(conn)
        .await?;
        Ok((model, token))
    }

    pub async fn list(&self, account_id: &str) -> AppResult<Vec<KeyView>> {
        let keys = api_key::Entity::find()
            .filter(api_key::Column::AccountId.eq(account_id))
            .order_by_asc(api_key::Column::CreatedAt)
            .order_by_asc(api_key::Column::Id)
            .all(&self.db)
            .await?;
        let mut views = Vec::with_capacity(keys.len());
        for key in keys {
            let rules = self.rules_of(&key.id).await?;
            let secret = if self.show_once {
                None
            } else {
                key.sealed.as_deref().and_then(|s| self.secret.open(s))
            };
            views.push(view(&key, secret.as_ref(), rules));
        }
        // Application keys first, as the panel shows them.
        views.sort_by_key(|v| KeyKind::parse(v.kind) == Some(KeyKind::User));
        Ok(views)
    }

    /// Creates a user-defined key, unless the account's plan allows no more of them.
    pub async fn create_user_key(
        &self,
        account_id: &str,
        name: &str,
        rules: &BTreeMap<String, Perms>,
        plans: &Plans,
    ) -> AppResult<KeyView> {
        if name.trim().is_empty() {
            return Err(AppError::field("name", "The property name is required"));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        // Counted and inserted under one lock, so concurrent creations cannot both pass.
        crate::db::lock_name(&txn, &format!("{account_id}#keys")).await?;
        let account = account::Entity::find_by_id(account_id.to_owned())
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        let maximum = plans.get(&account.plan).and_then(|p| p.max_user_keys);
        if let Some(maximum) = maximum {
            let held = api_key::Entity::find()
                .filter(api_key::Column::AccountId.eq(account_id))
                .filter(api_key::Column::Kind.eq(KeyKind::User.as_str()))
                .count(&txn)
                .await?;
            if held >= maximum {
                return Err(AppError::Refused(vec![format!(
                    "The plan '{}' allows at most {maximum} user-defined keys and the account has {held}; delete one or change the plan",
                    account.plan
                )]));
            }
        }
        let (key, token) = self
            .insert_key(&txn, account_id, name, KeyKind::User)
            .await?;
        replace_rules(&txn, &key, rules).await?;
        txn.commit().await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, Some(&token), rules))
    }

    pub async fn update_rules(
        &self,
        account_id: &str,
        key_id: &str,
        rules: &BTreeMap<String, Perms>,
    ) -> AppResult<KeyView> {
        let key = self.find(account_id, key_id).await?;
        if KeyKind::parse(&key.kind) != Some(KeyKind::User) {
            return Err(AppError::Refused(vec![
                "Application keys have no rules".into(),
            ]));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        replace_rules(&txn, &key, rules).await?;
        txn.commit().await?;
        let rules = self.rules_of(&key.id).await?;
        let secret = self.reveal(&key);
        Ok(view(&key, secret.as_ref(), rules))
    }

    /// A new secret for an existing key; the old one stops working at once.
    pub async fn regenerate(&self, account_id: &str, which: KeyRef) -> AppResult<KeyView> {
        let key = match which {
            KeyRef::Id(id) => self.find(account_id, &id).await?,
            KeyRef::Application(kind) => api_key::Entity::find()
                .filter(api_key::Column::AccountId.eq(account_id))
                .filter(api_key::Column::Kind.eq(kind.as_str()))
                .one(&self.db)
                .await?
                .ok_or(AppError::NotFound)?,
        };
        let token = ApiToken::generate();
        let mut active: api_key::ActiveModel = key.into();
        active.digest = Set(self.secret.digest(&token));
        active.sealed = Set((!self.show_once).then(|| self.secret.seal(&token)));
        active.updated_at = Set(now_micros());
        let key = active.update(&self.db).await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, Some(&token), rules))
    }

    /// Deletes a user-defined key; application keys can only be regenerated.
    pub async fn delete(&self, account_id: &str, key_id: &str) -> AppResult<()> {
        let key = self.find(account_id, key_id).await?;
        if KeyKind::parse(&key.kind) != Some(KeyKind::User) {
            return Err(AppError::Refused(vec![
                "Application keys cannot be deleted, only regenerated".into(),
            ]));
        }
        api_key::Entity::delete_by_id(key.id).exec(&self.db).await?;
        Ok(())
    }

    async fn find(&self, account_id: &str, key_id: &str) -> AppResult<api_key::Model> {
        api_key::Entity::find_by_id(key_id.to_owned())
            .filter(api_key::Column::AccountId.eq(account_id))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)
    }

    fn reveal(&self, key: &api_key::Model) -> Option<ApiToken> {
        if self.show_once {
            return None;
        }
        key.sealed.as_deref().and_then(|s| self.secret.open(s))
    }

    async fn rules_of(&self, key_id: &str) -> AppResult<Vec<key_rule::Model>> {
        Ok(key_rule::Entity::find()
            .filter(key_rule::Column::KeyId.eq(key_id))
            .order_by_asc(key_rule::Column::ContentType)
            .all(&self.db)
            .await?)
    }
}

async fn replace_rules<C: ConnectionTrait>(
    conn: &C,
    key: &api_key::Model,
    rules: &BTreeMap<String, Perms>,
) -> AppResult<()> {
    key_rule::Entity::delete_many()
        .filter(key_rule::Column::KeyId.eq(&key.id))
        .exec(conn)
        .await?;
    for (content_type, perms) in rules {
        key_rule::ActiveModel {
            key_id: Set(key.id.clone()),
            account_id: Set(key.account_id.clone()),
            content_type: Set(content_type.clone()),
            can_create: Set(perms.create),
            can_read: Set(perms.read),
            can_update: Set(perms.update),
            can_delete: Set(perms.delete),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

fn view(key: &api_key::Model, secret: Option<&ApiToken>, rules: Vec<key_rule::Model>) -> KeyView {
    KeyView {
        id: key.id.clone(),
        name: key.name.clone(),
        kind: KeyKind::parse(&key.kind).map_or("user", KeyKind::as_str),
        key: secret.map(|t| t.expose().to_owned()),
        rules: rules
            .into_iter()
            .map(|r| RuleView {
                content_type: r.content_type,
                create: r.can_create,
                read: r.can_read,
                update: r.can_update,
                delete: r.can_delete,
            })
            .collect(),
        created_at: format_iso(key.created_at),
    }
}
