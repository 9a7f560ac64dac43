use sea_orm::entity::prelude::*;

/// `data` holds the object's properties (without `id` and `internal`, which are columns).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "content_objects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub pk: i64,
    pub account_id: String,
    pub content_type: String,
    pub object_id: String,
    pub data: Json,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
