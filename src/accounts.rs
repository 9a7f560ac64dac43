//! Accounts: the unit that owns content, keys and a plan (request quota). Creating one
//! also creates its read-only and read-write application keys, in one transaction.

use entity::account;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::auth::KeyKind;
use crate::auth::keys::KeyStore;
use crate::db::now_micros;
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

pub const DEFAULT_ACCOUNT: &str = "default";

#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub created_at: String,
}

impl From<account::Model> for AccountView {
    fn from(model: account::Model) -> Self {
        AccountView {
            id: model.id,
            name: model.name,
            plan: model.plan,
            created_at: format_iso(model.created_at),
        }
    }
}

pub use crate::quota::plans::is_valid_name;

/// Creates an account on `plan` (a plan name the caller has checked).
pub async fn create(keys: &KeyStore, name: &str, plan: &str) -> AppResult<account::Model> {
    if !is_valid_name(name) {
        return Err(AppError::field(
            "name",
            "Invalid value. Only a-z, A-Z, 0-9, - and _ are allowed",
        ));
    }
    if find(keys, name).await?.is_some() {
        return Err(AppError::field("name", "This value is already used"));
    }
    let txn = crate::db::begin_write(&keys.db).await?;
    let model = account::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(name.to_owned()),
        created_at: Set(now_micros()),
        schema_revision: Set(0),
        plan: Set(plan.to_owned()),
        persisted_only: Set(false),
    }
    .insert(&txn)
    .await?;
    keys.insert_key(&txn, &model.id, "Read only API KEY", KeyKind::ReadOnly)
        .await?;
    keys.insert_key(
        &txn,
        &model.id,
        "Read and write API KEY",
        KeyKind::ReadWrite,
    )
    .await?;
    crate::db::commit(&keys.db, txn).await?;
    crate::content::internal::ensure(&keys.db, &model.id).await?;
    Ok(model)
}

pub async fn find(keys: &KeyStore, name: &str) -> AppResult<Option<account::Model>> {
    Ok(account::Entity::find()
        .filter(account::Column::Name.eq(name))
        .one(&keys.db)
        .await?)
}

pub async fn list(keys: &KeyStore) -> AppResult<Vec<account::Model>> {
    Ok(account::Entity::find()
        .order_by_asc(account::Column::CreatedAt)
        .all(&keys.db)
        .await?)
}

/// Moves an account to another plan (a name the caller has checked). Running instances
/// apply it at their next sync, within two flush intervals.
pub async fn set_plan(
    keys: &KeyStore,
    actor: &Actor,
    name: &str,
    plan: &str,
) -> AppResult<account::Model> {
    let model = find(keys, name).await?.ok_or(AppError::NotFound)?;
    let subject = format!("{} → {plan}", model.plan);
    let mut active: account::ActiveModel = model.into();
    active.plan = Set(plan.to_owned());
    let txn = crate::db::begin_write(&keys.db).await?;
    let model = active.update(&txn).await?;
    audit::record(&txn, Some(&model.id), actor, Action::PlanChange, &subject).await?;
    crate::db::commit(&keys.db, txn).await?;
    Ok(model)
}

/// The `default` account, created with its keys on first start (on `plan`). Returns
/// whether it was new.
pub async fn ensure_default(keys: &KeyStore, plan: &str) -> AppResult<(account::Model, bool)> {
    if let Some(existing) = find(keys, DEFAULT_ACCOUNT).await? {
        return Ok((existing, false));
    }
    match create(keys, DEFAULT_ACCOUNT, plan).await {
        Ok(model) => Ok((model, true)),
        // Another instance created it first.
        Err(_) => find(keys, DEFAULT_ACCOUNT)
            .await?
            .map(|m| (m, false))
            .ok_or(AppError::NotFound),
    }
}
