//! PostgreSQL: every commit that changes what authenticating a key reads (accounts, keys,
//! their rules, content revisions) sends a notification on `PRINCIPAL_CHANNEL`, so
//! that each server instance can reuse the principals it has read until one arrives,
//! as it does on SQLite with `PRAGMA data_version`. A key's `last_used_at`, written by
//! every usage flush, is not part of a principal and notifies nothing. SQLite needs
//! nothing here.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The channel `LISTEN`ed to by every instance (channels are per database).
pub const PRINCIPAL_CHANNEL: &str = "contentgate_principals";

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTION: &str = "contentgate_principals_changed";

/// Tables whose every write changes some principal (statement triggers: one
/// notification per statement, and PostgreSQL folds equal ones within a transaction).
const TABLES: [&str; 3] = ["accounts", "key_rules", "content_counts"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_notify('{PRINCIPAL_CHANNEL}', ''); RETURN NULL; END $$"
        ))
        .await?;
        for table in TABLES.iter().chain(&["api_keys"]) {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_principals_truncated AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            ))
            .await?;
        }
        for table in TABLES {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_principals_changed AFTER INSERT OR UPDATE OR DELETE \
                 ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            ))
            .await?;
        }
        db.execute_unprepared(&format!(
            "CREATE TRIGGER api_keys_principals_changed AFTER INSERT OR DELETE ON api_keys \
             FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        ))
        .await?;
        // Any column but the last use, including columns added after this migration.
        db.execute_unprepared(&format!(
            "CREATE TRIGGER api_keys_principal_updated AFTER UPDATE ON api_keys FOR EACH ROW \
             WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM \
                   (to_jsonb(NEW) - 'last_used_at')) \
             EXECUTE FUNCTION {FUNCTION}()"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Dropping the function drops every trigger that runs it.
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE"))
            .await?;
        Ok(())
    }
}
