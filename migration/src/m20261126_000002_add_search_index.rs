//! Full-text index over content objects, kept by the database itself so that it
//! changes in the same transaction as the object: FTS5 maintained by triggers on
//! SQLite, a generated `tsvector` column with a GIN index on PostgreSQL. Only live
//! objects are indexed; every string value counts except relation references.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_DOCUMENT: &str = "(SELECT COALESCE(group_concat(atom, ' '), '') FROM json_tree(NEW.data) \
     WHERE type = 'text' AND atom NOT LIKE '/api/v1/content/%')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION cg_search_document(data jsonb) RETURNS tsvector \
                     LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ \
                       SELECT to_tsvector('simple', COALESCE(string_agg(v #>> '{}', ' '), '')) \
                       FROM jsonb_path_query(data, 'strict $.**') AS v \
                       WHERE jsonb_typeof(v) = 'string' AND (v #>> '{}') NOT LIKE '/api/v1/content/%' \
                     $$",
                )
                .await?;
                db.execute_unprepared(
                    "ALTER TABLE content_objects ADD COLUMN search tsvector GENERATED ALWAYS AS \
                     (CASE WHEN deleted_at IS NULL THEN cg_search_document(data) END) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_content_objects_search ON content_objects USING GIN (search)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE content_search USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')",
                )
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER content_search_insert AFTER INSERT ON content_objects \
                     WHEN NEW.deleted_at IS NULL BEGIN \
                       INSERT INTO content_search(rowid, body) VALUES (NEW.pk, {SQLITE_DOCUMENT}); \
                     END"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER content_search_update AFTER UPDATE ON content_objects BEGIN \
                       DELETE FROM content_search WHERE rowid = OLD.pk; \
                       INSERT INTO content_search(rowid, body) SELECT NEW.pk, {SQLITE_DOCUMENT} \
                         WHERE NEW.deleted_at IS NULL; \
                     END"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER content_search_delete AFTER DELETE ON content_objects BEGIN \
                       DELETE FROM content_search WHERE rowid = OLD.pk; \
                     END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("ALTER TABLE content_objects DROP COLUMN search")
                    .await?;
                db.execute_unprepared("DROP FUNCTION cg_search_document(jsonb)")
                    .await?;
            }
            _ => {
                for trigger in [
                    "content_search_insert",
                    "content_search_update",
                    "content_search_delete",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger}"))
                        .await?;
                }
                db.execute_unprepared("DROP TABLE content_search").await?;
            }
        }
        Ok(())
    }
}
