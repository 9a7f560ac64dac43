use sea_orm::entity::prelude::*;

/// An account an admin (without `all_accounts`) may manage.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub admin_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
