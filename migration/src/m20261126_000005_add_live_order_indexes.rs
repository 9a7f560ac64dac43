//! Partial indexes over live objects in the orders that lists use by default
//! (`internal.createdAt`, `internal.updatedAt`, ties broken by `pk`), so that a page is
//! read in index order whatever the number of objects. Without them PostgreSQL sorts
//! every live object of the type to find one page.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    ("idx_content_objects_live_created", "created_at"),
    ("idx_content_objects_live_updated", "updated_at"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in INDEXES {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE INDEX {name} ON content_objects (account_id, content_type, {column}, pk) \
                     WHERE deleted_at IS NULL"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        Ok(())
    }
}
