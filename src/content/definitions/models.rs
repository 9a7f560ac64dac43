//! An account's type models, parsed from their definitions once per schema revision
//! and shared by every read until a definition changes.

use std::collections::HashMap;
use std::sync::Arc;

use entity::content_type;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::model::TypeModel;
use super::validate::model_of;
use crate::auth::{Action, Principal};
use crate::error::{AppError, AppResult};
use crate::revision_cache::RevisionCache;

pub struct Models {
    /// In creation order (the order GraphQL names are given in).
    pub ordered: Vec<TypeModel>,
    pub by_name: HashMap<String, TypeModel>,
}

pub type ModelCache = RevisionCache<Models>;

impl Models {
    pub async fn load<C: ConnectionTrait>(conn: &C, account_id: &str) -> AppResult<Models> {
        let ordered = models_in_order(conn, account_id).await?;
        let by_name = ordered
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect();
        Ok(Models { ordered, by_name })
    }

    /// The caller's account's models as of its authentication.
    pub async fn current<C: ConnectionTrait>(
        cache: &ModelCache,
        conn: &C,
        principal: &Principal,
    ) -> AppResult<Arc<Models>> {
        cache
            .get_or_build(principal.account_id(), principal.revisions().schema, || {
                Models::load(conn, principal.account_id())
            })
            .await
    }

    /// The model of a type the caller may perform `actions` on. The permission is
    /// checked first, so a refusal reveals nothing about the type.
    pub fn authorized(
        &self,
        principal: &Principal,
        type_name: &str,
        actions: &[Action],
    ) -> AppResult<&TypeModel> {
        principal.require_all(type_name, actions)?;
        self.by_name.get(type_name).ok_or(AppError::NotFound)
    }
}

/// The stored definition of `name` in the account, with its parsed model.
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    name: &str,
) -> AppResult<Option<(content_type::Model, TypeModel)>> {
    let row = content_type::Entity::find()
        .filter(content_type::Column::AccountId.eq(account_id))
        .filter(content_type::Column::Name.eq(name))
        .one(conn)
        .await?;
    Ok(row.map(|row| {
        let model = model_of(&row.definition);
        (row, model)
    }))
}

/// The account's definitions in creation order.
pub async fn existing<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> AppResult<Vec<content_type::Model>> {
    Ok(content_type::Entity::find()
        .filter(content_type::Column::AccountId.eq(account_id))
        .order_by_asc(content_type::Column::CreatedAt)
        .order_by_asc(content_type::Column::Id)
        .all(conn)
        .await?)
}

/// The account's type models in creation order (the order GraphQL names are given in).
pub async fn models_in_order<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> AppResult<Vec<TypeModel>> {
    Ok(existing(conn, account_id)
        .await?
        .iter()
        .map(|row| model_of(&row.definition))
        .collect())
}
