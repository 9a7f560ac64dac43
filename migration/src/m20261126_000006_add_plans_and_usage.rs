//! Request quotas: each account names its plan, and request counts are kept per account
//! and UTC day, so every instance on one database enforces one shared 30-day window and
//! a restart does not reset it. Accounts that existed before get the `unlimited` plan,
//! which is how they were served until now.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Plan,
}

#[derive(DeriveIden)]
enum AccountUsage {
    Table,
    AccountId,
    Day,
    Requests,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(string(Accounts::Plan).default("unlimited"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountUsage::Table)
                    .col(string(AccountUsage::AccountId))
                    // Days since the Unix epoch, UTC.
                    .col(big_integer(AccountUsage::Day))
                    .col(big_integer(AccountUsage::Requests))
                    .primary_key(
                        Index::create()
                            .col(AccountUsage::AccountId)
                            .col(AccountUsage::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountUsage::Table, AccountUsage::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountUsage::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::Plan)
                    .to_owned(),
            )
            .await
    }
}
