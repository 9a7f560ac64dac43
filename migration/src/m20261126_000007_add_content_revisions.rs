//! A revision per account and content type, bumped in the same transaction as every
//! insert, update and deletion of an object. `content_counts` rows are never deleted,
//! so the sum of an account's revisions grows with every committed change to its
//! content: one indexed read tells an instance whether an answer it rendered earlier
//! is still current.
//!
//! On PostgreSQL the live counts move to statement triggers at the same time, and the
//! revision is bumped once per transaction and type: a transaction that writes many
//! objects must not update one row once per object, because every update of a row
//! already updated in the same transaction walks all its earlier versions (a load of
//! 100,000 objects in one transaction took minutes that way).
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261126_000004_add_content_counts::create_postgres_trigger;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContentCounts {
    Table,
    Revision,
}

fn sqlite_bump(row: &str) -> String {
    format!(
        "INSERT INTO content_counts (account_id, content_type, live, revision) \
         VALUES ({row}.account_id, {row}.content_type, 0, 1) \
         ON CONFLICT (account_id, content_type) DO UPDATE SET revision = content_counts.revision + 1"
    )
}

const SQLITE_TRIGGERS: [(&str, &str, &str); 3] = [
    ("content_revision_insert", "INSERT", "NEW"),
    ("content_revision_update", "UPDATE", "NEW"),
    ("content_revision_delete", "DELETE", "OLD"),
];

/// Per statement: the change of live objects per account and type, then one upsert per
/// group that adds it and, the first time in the transaction, bumps the revision (the
/// groups already bumped are remembered in a transaction-local setting).
const POSTGRES_FUNCTION: &str = "CREATE FUNCTION cg_content_changed() RETURNS trigger \
     LANGUAGE plpgsql AS $$ \
     DECLARE \
       changes text; \
       g record; \
       seen text; \
       marker text; \
       bump integer; \
     BEGIN \
       IF TG_OP = 'INSERT' THEN \
         changes := 'SELECT account_id, content_type, \
           COUNT(*) FILTER (WHERE deleted_at IS NULL) AS delta \
           FROM new_rows GROUP BY account_id, content_type'; \
       ELSIF TG_OP = 'UPDATE' THEN \
         changes := 'SELECT n.account_id, n.content_type, \
           COUNT(*) FILTER (WHERE o.deleted_at IS NOT NULL AND n.deleted_at IS NULL) \
           - COUNT(*) FILTER (WHERE o.deleted_at IS NULL AND n.deleted_at IS NOT NULL) AS delta \
           FROM new_rows n JOIN old_rows o ON o.pk = n.pk GROUP BY n.account_id, n.content_type'; \
       ELSE \
         changes := 'SELECT account_id, content_type, \
           -COUNT(*) FILTER (WHERE deleted_at IS NULL) AS delta \
           FROM old_rows GROUP BY account_id, content_type'; \
       END IF; \
       FOR g IN EXECUTE changes LOOP \
         seen := COALESCE(current_setting('cg.revised', true), ''); \
         marker := '|' || g.account_id || '/' || g.content_type || '|'; \
         bump := CASE WHEN strpos(seen, marker) > 0 THEN 0 ELSE 1 END; \
         IF bump = 1 THEN PERFORM set_config('cg.revised', seen || marker, true); END IF; \
         IF bump = 1 OR g.delta <> 0 THEN \
           INSERT INTO content_counts (account_id, content_type, live, revision) \
           VALUES (g.account_id, g.content_type, g.delta, bump) \
           ON CONFLICT (account_id, content_type) DO UPDATE \
           SET live = content_counts.live + EXCLUDED.live, \
               revision = content_counts.revision + EXCLUDED.revision; \
         END IF; \
       END LOOP; \
       RETURN NULL; \
     END $$";

/// The statement triggers: each names the transition tables its event has, and the
/// function reads only those (by the query it chooses for `TG_OP`).
const POSTGRES_TRIGGERS: [(&str, &str, &str); 3] = [
    (
        "content_changed_insert",
        "INSERT",
        "REFERENCING NEW TABLE AS new_rows",
    ),
    (
        "content_changed_update",
        "UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    (
        "content_changed_delete",
        "DELETE",
        "REFERENCING OLD TABLE AS old_rows",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ContentCounts::Table)
                    .add_column(big_integer(ContentCounts::Revision).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER content_counts_trigger ON content_objects")
                    .await?;
                db.execute_unprepared("DROP FUNCTION cg_count_objects()")
                    .await?;
                db.execute_unprepared(POSTGRES_FUNCTION).await?;
                for (name, event, tables) in POSTGRES_TRIGGERS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} ON content_objects {tables} \
                         FOR EACH STATEMENT EXECUTE FUNCTION cg_content_changed()"
                    ))
                    .await?;
                }
            }
            _ => {
                for (name, event, row) in SQLITE_TRIGGERS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} ON content_objects BEGIN {}; END",
                        sqlite_bump(row)
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for (name, _, _) in POSTGRES_TRIGGERS {
                    db.execute_unprepared(&format!("DROP TRIGGER {name} ON content_objects"))
                        .await?;
                }
                db.execute_unprepared("DROP FUNCTION cg_content_changed()")
                    .await?;
                create_postgres_trigger(db).await?;
            }
            _ => {
                for (name, _, _) in SQLITE_TRIGGERS {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}"))
                        .await?;
                }
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ContentCounts::Table)
                    .drop_column(ContentCounts::Revision)
                    .to_owned(),
            )
            .await
    }
}
