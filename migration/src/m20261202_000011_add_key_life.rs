//! A key's life and a browser's needs: expiry, a previous secret valid until a grace
//! period ends (rotation), allowed origins and client networks, the last use and the
//! requests per day of every key, and Apollo's persisted queries per account (with an
//! account switch that runs only stored documents).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    ExpiresAt,
    PreviousDigest,
    PreviousUntil,
    Origins,
    Networks,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    PersistedOnly,
}

#[derive(DeriveIden)]
enum KeyUsage {
    Table,
    KeyId,
    AccountId,
    Day,
    Requests,
}

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    AccountId,
    Hash,
    Document,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            big_integer_null(ApiKeys::ExpiresAt),
            string_null(ApiKeys::PreviousDigest),
            big_integer_null(ApiKeys::PreviousUntil),
            // JSON arrays of strings; empty: any origin, any network.
            text(ApiKeys::Origins).default("[]").to_owned(),
            text(ApiKeys::Networks).default("[]").to_owned(),
            big_integer_null(ApiKeys::LastUsedAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_previous_digest")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::PreviousDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(boolean(Accounts::PersistedOnly).default(false).to_owned())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyUsage::Table)
                    .col(string(KeyUsage::KeyId))
                    .col(string(KeyUsage::AccountId))
                    .col(big_integer(KeyUsage::Day))
                    .col(big_integer(KeyUsage::Requests))
                    .primary_key(Index::create().col(KeyUsage::KeyId).col(KeyUsage::Day))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyUsage::Table, KeyUsage::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PersistedQueries::Table)
                    .col(string(PersistedQueries::AccountId))
                    .col(string(PersistedQueries::Hash))
                    .col(text(PersistedQueries::Document))
                    .col(big_integer(PersistedQueries::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(PersistedQueries::AccountId)
                            .col(PersistedQueries::Hash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PersistedQueries::Table, PersistedQueries::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PersistedQueries::Table.into_iden(),
            KeyUsage::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_api_keys_previous_digest")
                    .table(ApiKeys::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            ApiKeys::ExpiresAt,
            ApiKeys::PreviousDigest,
            ApiKeys::PreviousUntil,
            ApiKeys::Origins,
            ApiKeys::Networks,
            ApiKeys::LastUsedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::PersistedOnly)
                    .to_owned(),
            )
            .await
    }
}
