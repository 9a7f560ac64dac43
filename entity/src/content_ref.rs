use sea_orm::entity::prelude::*;

/// One relation reference from a live object to another object, kept in step with the
/// object's data so that "is this object referenced?" is an indexed lookup.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "content_refs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_pk: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub account_id: String,
    pub target_type: String,
    pub target_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
