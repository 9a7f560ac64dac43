//! The admin panel's tables: operators (admins) and the accounts each may manage, their
//! sessions (in the database, so any instance serves them and ending one ends it
//! everywhere), failed sign-ins per email and per client address (throttling shared by
//! every instance), and the audit log of key actions and sign-ins.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Email,
    PasswordHash,
    AllAccounts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AdminAccounts {
    Table,
    AdminId,
    AccountId,
}

#[derive(DeriveIden)]
enum AdminSessions {
    Table,
    Digest,
    AdminId,
    Csrf,
    CreatedAt,
    SeenAt,
    Flash,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Subject,
    Failures,
    LastAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AccountId,
    Actor,
    Action,
    Subject,
    Client,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Admins::Table)
                    .col(string(Admins::Id).primary_key())
                    .col(string_uniq(Admins::Email))
                    .col(string(Admins::PasswordHash))
                    .col(boolean(Admins::AllAccounts))
                    .col(big_integer(Admins::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdminAccounts::Table)
                    .col(string(AdminAccounts::AdminId))
                    .col(string(AdminAccounts::AccountId))
                    .primary_key(
                        Index::create()
                            .col(AdminAccounts::AdminId)
                            .col(AdminAccounts::AccountId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminAccounts::Table, AdminAccounts::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminAccounts::Table, AdminAccounts::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdminSessions::Table)
                    // SHA-256 of the cookie's value: the table alone opens no session.
                    .col(string(AdminSessions::Digest).primary_key())
                    .col(string(AdminSessions::AdminId))
                    .col(string(AdminSessions::Csrf))
                    .col(big_integer(AdminSessions::CreatedAt))
                    .col(big_integer(AdminSessions::SeenAt))
                    // A key to show once on the next page (sealed under the server key).
                    .col(text_null(AdminSessions::Flash))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminSessions::Table, AdminSessions::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string(LoginFailures::Subject).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(big_integer(LoginFailures::LastAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_integer(AuditLog::Id).primary_key().auto_increment())
                    .col(string_null(AuditLog::AccountId))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Subject))
                    .col(string(AuditLog::Client))
                    .col(big_integer(AuditLog::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_account")
                    .table(AuditLog::Table)
                    .col(AuditLog::AccountId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            LoginFailures::Table.into_iden(),
            AdminSessions::Table.into_iden(),
            AdminAccounts::Table.into_iden(),
            Admins::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
