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
    /// After this the key is refused like any bad key; `None`: it never expires.
    pub expires_at: Option<i64>,
    /// The digest of the secret before the last rotation, valid until `previous_until`.
    pub previous_digest: Option<String>,
    pub previous_until: Option<i64>,
    /// JSON arrays of allowed origins and client networks (CIDR); empty: any.
    pub origins: String,
    pub networks: String,
    /// Written with the quota flush, never per request.
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
