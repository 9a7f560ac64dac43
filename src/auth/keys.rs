//! Key management (for the command line and the admin panel: one code path, one set of
//! checks, each change recorded in the audit log in its own transaction). No content
//! API route reaches them; authentication is in `lookup`.

use std::collections::BTreeMap;
use std::time::Duration;

use entity::{account, api_key, content_type, key_rule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::access::KeyAccess;
use super::key_rows::{
    INTERNAL_TYPES, check_expiry, checked_name, record, replace_rules, same_minute, view,
};
pub use super::key_rows::{KeyView, RuleView};
use super::{ApiToken, KeyKind, Perms, ServerSecret};
use crate::audit::{Action, Actor};
use crate::db::now_micros;
use crate::error::{AppError, AppResult};
use crate::quota::Plans;

/// A user-defined key's limits: when it expires and where it may be used from.
#[derive(Clone, Debug, Default)]
pub struct KeyLimits {
    pub expires_at: Option<i64>,
    pub access: KeyAccess,
}

/// What `update` changes; `None` leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct KeyChange {
    pub name: Option<String>,
    pub rules: Option<BTreeMap<String, Perms>>,
    /// `Some(None)`: the key no longer expires.
    pub expires_at: Option<Option<i64>>,
    pub access: Option<KeyAccess>,
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
            expires_at: Set(None),
            previous_digest: Set(None),
            previous_until: Set(None),
            origins: Set("[]".into()),
            networks: Set("[]".into()),
            last_used_at: Set(None),
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
        limits: &KeyLimits,
        plans: &Plans,
    ) -> AppResult<KeyView> {
        let name = checked_name(name)?;
        check_expiry(limits.expires_at)?;
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
        let (origins, networks) = limits.access.to_columns();
        let mut active: api_key::ActiveModel = key.into();
        active.expires_at = Set(limits.expires_at);
        active.origins = Set(origins);
        active.networks = Set(networks);
        let key = active.update(&txn).await?;
        replace_rules(&txn, &key, rules).await?;
        record(&txn, actor, Action::KeyCreate, &key).await?;
        crate::db::commit(&self.db, txn).await?;
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
        let change = KeyChange {
            name: name.map(str::to_owned),
            rules: Some(rules.clone()),
            ..KeyChange::default()
        };
        self.update(actor, account_id, key_id, &change).await
    }

    /// Changes a user-defined key's name, rules, expiry or limits, in one transaction.
    pub async fn update(
        &self,
        actor: &Actor,
        account_id: &str,
        key_id: &str,
        change: &KeyChange,
    ) -> AppResult<KeyView> {
        let name = change.name.as_deref().map(checked_name).transpose()?;
        let key = self.find(account_id, key_id).await?;
        let expires_at = change
            .expires_at
            .filter(|expires_at| !same_minute(*expires_at, key.expires_at));
        if let Some(expires_at) = expires_at {
            check_expiry(expires_at)?;
        }
        if KeyKind::parse(&key.kind) != Some(KeyKind::User) {
            return Err(AppError::Refused(vec![
                "Application keys have no rules, expiry or limits; they can only be regenerated"
                    .into(),
            ]));
        }
        if let Some(rules) = &change.rules {
            self.check_rule_types(account_id, rules).await?;
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let mut active: api_key::ActiveModel = key.into();
        if let Some(name) = name {
            active.name = Set(name.to_owned());
        }
        if let Some(expires_at) = expires_at {
            active.expires_at = Set(expires_at);
        }
        if let Some(access) = &change.access {
            let (origins, networks) = access.to_columns();
            active.origins = Set(origins);
            active.networks = Set(networks);
        }
        active.updated_at = Set(now_micros());
        let key = active.update(&txn).await?;
        if let Some(rules) = &change.rules {
            replace_rules(&txn, &key, rules).await?;
        }
        record(&txn, actor, Action::KeyUpdate, &key).await?;
        crate::db::commit(&self.db, txn).await?;
        let rules = self.rules_of(&key.id).await?;
        let secret = self.reveal(&key);
        Ok(view(&key, secret.as_ref(), rules))
    }

    /// A new secret for an existing key. Without `grace` the old one stops working at
    /// once (Flotiq's behaviour); with it, the old one works until the grace ends, on
    /// every instance (only the last previous secret is kept).
    pub async fn regenerate(
        &self,
        actor: &Actor,
        account_id: &str,
        which: KeyRef,
        grace: Option<Duration>,
    ) -> AppResult<KeyView> {
        if grace.is_some_and(|grace| grace > MAX_GRACE) {
            return Err(AppError::field(
                "grace",
                "A grace period may last at most 30 days",
            ));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        // Read and replaced under one lock: two rotations at once cannot both start from
        // the same secret (the first new one would be lost).
        crate::db::lock_name(&txn, &format!("{account_id}#keys")).await?;
        let key = find_ref_on(&txn, account_id, which).await?;
        let token = ApiToken::generate();
        let now = now_micros();
        let grace_end = grace
            .filter(|g| !g.is_zero())
            .map(|g| now.saturating_add(i64::try_from(g.as_micros()).unwrap_or(i64::MAX)));
        let previous = key.digest.clone();
        let mut active: api_key::ActiveModel = key.into();
        active.digest = Set(self.secret.digest(&token));
        active.sealed = Set((!self.show_once).then(|| self.secret.seal(&token)));
        active.previous_digest = Set(grace_end.map(|_| previous));
        active.previous_until = Set(grace_end);
        active.updated_at = Set(now);
        let key = active.update(&txn).await?;
        record(&txn, actor, Action::KeyRegenerate, &key).await?;
        crate::db::commit(&self.db, txn).await?;
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
        crate::db::commit(&self.db, txn).await?;
        Ok(())
    }

    /// One key of the account as `list` shows it.
    pub async fn get(&self, account_id: &str, which: KeyRef) -> AppResult<KeyView> {
        let key = self.find_ref(account_id, which).await?;
        let rules = self.rules_of(&key.id).await?;
        Ok(view(&key, self.reveal(&key).as_ref(), rules))
    }

    async fn find_ref(&self, account_id: &str, which: KeyRef) -> AppResult<api_key::Model> {
        find_ref_on(&self.db, account_id, which).await
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
        find_ref_on(&self.db, account_id, KeyRef::Id(key_id.to_owned())).await
    }

    fn reveal(&self, key: &api_key::Model) -> Option<ApiToken> {
        if self.show_once {
            return None;
        }
        key.sealed.as_deref().and_then(|s| self.secret.open(s))
    }

    pub(super) async fn rules_of(&self, key_id: &str) -> AppResult<Vec<key_rule::Model>> {
        Ok(key_rule::Entity::find()
            .filter(key_rule::Column::KeyId.eq(key_id))
            .order_by_asc(key_rule::Column::ContentType)
            .all(&self.db)
            .await?)
    }
}

/// The key `which` names in the account, read on `conn` (a transaction, or the pool).
async fn find_ref_on<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    which: KeyRef,
) -> AppResult<api_key::Model> {
    let query = match which {
        KeyRef::Id(id) => api_key::Entity::find_by_id(id),
        KeyRef::Application(kind) => {
            api_key::Entity::find().filter(api_key::Column::Kind.eq(kind.as_str()))
        }
    };
    query
        .filter(api_key::Column::AccountId.eq(account_id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The longest grace a rotation may give the old secret.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);
