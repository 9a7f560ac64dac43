use sea_orm::entity::prelude::*;

/// One recorded action: who (`actor`: an admin's email or `cli`), what (`action`), on
/// what (`subject`: a key's name and id, never the key), from where (`client`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub client: String,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
