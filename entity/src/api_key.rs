use sea_orm::entity::prelude::*;

/// `digest` is an HMAC of the secret under the server key (for lookup); `sealed` is the
/// secret encrypted under the server key, or NULL for show-once keys.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub kind: String,
    #[sea_orm(unique)]
    pub digest: String,
    pub sealed: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
