//! A revision per account and content type, bumped by a trigger in the same transaction
//! as every insert, update and deletion of an object. `content_counts` rows are never
//! deleted, so the sum of an account's revisions grows with every change to its content:
//! one indexed read tells an instance whether a response it rendered earlier is current.
use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContentCounts {
    Table,
    Revision,
}

fn bump(row: &str) -> String {
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
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION cg_content_revision() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF TG_OP = 'DELETE' THEN {}; RETURN OLD; END IF; \
                       {}; RETURN NEW; \
                     END $$",
                    bump("OLD"),
                    bump("NEW")
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER content_revision_trigger \
                     AFTER INSERT OR UPDATE OR DELETE ON content_objects \
                     FOR EACH ROW EXECUTE FUNCTION cg_content_revision()",
                )
                .await?;
            }
            _ => {
                for (name, event, row) in SQLITE_TRIGGERS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} ON content_objects BEGIN {}; END",
                        bump(row)
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
                db.execute_unprepared("DROP TRIGGER content_revision_trigger ON content_objects")
                    .await?;
                db.execute_unprepared("DROP FUNCTION cg_content_revision()")
                    .await?;
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
