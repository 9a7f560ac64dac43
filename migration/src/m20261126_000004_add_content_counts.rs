//! Live object counts per account and content type, kept by triggers in the same
//! transaction as every insert and deletion, so that an unfiltered list answers its
//! `total_count` with one indexed read instead of counting every row.
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContentCounts {
    Table,
    AccountId,
    ContentType,
    Live,
}

const SEED: &str = "INSERT INTO content_counts (account_id, content_type, live) \
     SELECT account_id, content_type, COUNT(*) FROM content_objects WHERE deleted_at IS NULL \
     GROUP BY account_id, content_type";

const INCREMENT: &str = "INSERT INTO content_counts (account_id, content_type, live) \
     VALUES (NEW.account_id, NEW.content_type, 1) \
     ON CONFLICT (account_id, content_type) DO UPDATE SET live = content_counts.live + 1";

fn decrement(row: &str) -> String {
    format!(
        "UPDATE content_counts SET live = live - 1 \
         WHERE account_id = {row}.account_id AND content_type = {row}.content_type"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContentCounts::Table)
                    .col(string(ContentCounts::AccountId))
                    .col(string(ContentCounts::ContentType))
                    .col(big_integer(ContentCounts::Live))
                    .primary_key(
                        Index::create()
                            .col(ContentCounts::AccountId)
                            .col(ContentCounts::ContentType),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(SEED).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => create_postgres_trigger(db).await?,
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER content_counts_insert AFTER INSERT ON content_objects \
                     WHEN NEW.deleted_at IS NULL BEGIN {INCREMENT}; END"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER content_counts_soft_delete AFTER UPDATE OF deleted_at ON content_objects \
                     WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL BEGIN {}; END",
                    decrement("OLD")
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER content_counts_delete AFTER DELETE ON content_objects \
                     WHEN OLD.deleted_at IS NULL BEGIN {}; END",
                    decrement("OLD")
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER content_counts_trigger ON content_objects")
                    .await?;
                db.execute_unprepared("DROP FUNCTION cg_count_objects()")
                    .await?;
            }
            _ => {
                for trigger in [
                    "content_counts_insert",
                    "content_counts_soft_delete",
                    "content_counts_delete",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger}"))
                        .await?;
                }
            }
        }
        manager
            .drop_table(Table::drop().table(ContentCounts::Table).to_owned())
            .await
    }
}

/// The PostgreSQL row trigger of this migration (also restored by a later migration's
/// `down`).
pub(crate) async fn create_postgres_trigger(
    db: &sea_orm_migration::SchemaManagerConnection<'_>,
) -> Result<(), DbErr> {
    db.execute_unprepared(&format!(
        "CREATE FUNCTION cg_count_objects() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF TG_OP = 'INSERT' THEN \
             IF NEW.deleted_at IS NULL THEN {INCREMENT}; END IF; \
             RETURN NEW; \
           ELSIF TG_OP = 'UPDATE' THEN \
             IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN {}; END IF; \
             RETURN NEW; \
           ELSE \
             IF OLD.deleted_at IS NULL THEN {}; END IF; \
             RETURN OLD; \
           END IF; \
         END $$",
        decrement("OLD"),
        decrement("OLD")
    ))
    .await?;
    db.execute_unprepared(
        "CREATE TRIGGER content_counts_trigger \
         AFTER INSERT OR UPDATE OF deleted_at OR DELETE ON content_objects \
         FOR EACH ROW EXECUTE FUNCTION cg_count_objects()",
    )
    .await?;
    Ok(())
}
