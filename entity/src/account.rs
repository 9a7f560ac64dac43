use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub name: String,
    pub created_at: i64,
    /// Bumped with every content type change (GraphQL schema cache key).
    pub schema_revision: i64,
    /// Name of the account's plan (request quota, rate, user key maximum).
    pub plan: String,
    /// Only stored (persisted) GraphQL documents run for this account.
    pub persisted_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
