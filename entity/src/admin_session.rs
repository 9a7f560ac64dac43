use sea_orm::entity::prelude::*;

/// A signed-in admin. `digest` is the SHA-256 of the cookie's value; `flash` a key to
/// show once on the next page, sealed under the server key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    pub admin_id: String,
    pub csrf: String,
    pub created_at: i64,
    pub seen_at: i64,
    pub flash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
