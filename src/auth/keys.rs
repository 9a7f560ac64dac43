//! Key management (for the command line and the admin panel: one code path, one set of
//! checks, each change recorded in the audit log in its own transaction) and request
//! authentication. No content API route reaches the management functions.

use std::collections::BTreeMap;

use entity::{account, api_key, content_type, key_rule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::key_rows::{INTERNAL_TYPES, checked_name, record, replace_rules, view};
pub use super::key_rows::{KeyView, RuleView};
use super::principal::Revisions;
use super::{ApiToken, KeyKind, Perms, Principal, ServerSecret};
use crate::audit::{Action, Actor};
use crate::db::{Sql, now_micros};
use crate::error::{AppError, AppResult};
use crate::quota::Plans;

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

impl KeyRef {
    /// `read_only` and `read_write` name the application keys; anything else is an id.
    pub fn parse(text: String) -> Self {
        match KeyKind::parse(&text) {
            Some(kind @ (KeyKind::ReadOnly | KeyKind::ReadWrite)) => KeyRef::Application(kind),
            _ => KeyRef::Id(text),
        }
    }
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
        actor: &Actor,
        account_id: &str,
        name: &str,
        rules: &BTreeMap<String, Perms>,
        plans: &Plans,
    ) -> AppResult<KeyView> {
        let name = checked_name(name)?;
        self.check_rule_types(account_id, rules).await?;
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
        record(&txn, actor, Action::KeyCreate, &key).await?;
        txn.commit().await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, Some(&token), rules))
    }

    /// Replaces a user-defined key's rules, and its name when `name` is given.
    pub async fn update_rules(
        &self,
        actor: &Actor,
        account_id: &str,
        key_id: &str,
        name: Option<&str>,
        rules: &BTreeMap<String, Perms>,
    ) -> AppResult<KeyView> {
        let name = name.map(checked_name).transpose()?;
        let mut key = self.find(account_id, key_id).await?;
        if KeyKind::parse(&key.kind) != Some(KeyKind::User) {
            return Err(AppError::Refused(vec![
                "Application keys have no rules".into(),
            ]));
        }
        self.check_rule_types(account_id, rules).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(name) = name.filter(|n| *n != key.name) {
            let mut active: api_key::ActiveModel = key.into();
            active.name = Set(name.to_owned());
            active.updated_at = Set(now_micros());
            key = active.update(&txn).await?;
        }
        replace_rules(&txn, &key, rules).await?;
        record(&txn, actor, Action::KeyUpdate, &key).await?;
        txn.commit().await?;
        let rules = self.rules_of(&key.id).await?;
        let secret = self.reveal(&key);
        Ok(view(&key, secret.as_ref(), rules))
    }

    /// A new secret for an existing key; the old one stops working at once.
    pub async fn regenerate(
        &self,
        actor: &Actor,
        account_id: &str,
        which: KeyRef,
    ) -> AppResult<KeyView> {
        let key = self.find_ref(account_id, which).await?;
        let token = ApiToken::generate();
        let mut active: api_key::ActiveModel = key.into();
        active.digest = Set(self.secret.digest(&token));
        active.sealed = Set((!self.show_once).then(|| self.secret.seal(&token)));
        active.updated_at = Set(now_micros());
        let txn = crate::db::begin_write(&self.db).await?;
        let key = active.update(&txn).await?;
        record(&txn, actor, Action::KeyRegenerate, &key).await?;
        txn.commit().await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, Some(&token), rules))
    }

    /// Deletes a user-defined key; application keys can only be regenerated.
    pub async fn delete(&self, actor: &Actor, account_id: &str, key_id: &str) -> AppResult<()> {
        let key = self.find(account_id, key_id).await?;
        if KeyKind::parse(&key.kind) != Some(KeyKind::User) {
            return Err(AppError::Refused(vec![
                "Application keys cannot be deleted, only regenerated".into(),
            ]));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        record(&txn, actor, Action::KeyDelete, &key).await?;
        api_key::Entity::delete_by_id(key.id).exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// One key of the account as `list` shows it.
    pub async fn get(&self, account_id: &str, which: KeyRef) -> AppResult<KeyView> {
        let key = self.find_ref(account_id, which).await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, self.reveal(&key).as_ref(), rules))
    }

    async fn find_ref(&self, account_id: &str, which: KeyRef) -> AppResult<api_key::Model> {
        match which {
            KeyRef::Id(id) => self.find(account_id, &id).await,
            KeyRef::Application(kind) => api_key::Entity::find()
                .filter(api_key::Column::AccountId.eq(account_id))
                .filter(api_key::Column::Kind.eq(kind.as_str()))
                .one(&self.db)
                .await?
                .ok_or(AppError::NotFound),
        }
    }

    /// Every rule must name a content type of the account (a typo would otherwise make
    /// a key that silently reads nothing), or one of Flotiq's internal types, which keys
    /// may be given before the first upload creates them.
    async fn check_rule_types(
        &self,
        account_id: &str,
        rules: &BTreeMap<String, Perms>,
    ) -> AppResult<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let known: std::collections::BTreeSet<String> = content_type::Entity::find()
            .filter(content_type::Column::AccountId.eq(account_id))
            .filter(content_type::Column::Name.is_in(rules.keys().cloned()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let unknown: Vec<String> = rules
            .keys()
            .filter(|name| !known.contains(*name) && !INTERNAL_TYPES.contains(&name.as_str()))
            .map(|name| format!("Unknown content type '{name}'"))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(AppError::field("rules", unknown.join("; ")))
        }
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
