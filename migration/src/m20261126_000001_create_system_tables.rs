//! Accounts, API keys and their rules, content type definitions, content objects and
//! the relation index between objects.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
    Name,
    Kind,
    Digest,
    Sealed,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KeyRules {
    Table,
    Id,
    KeyId,
    AccountId,
    ContentType,
    CanCreate,
    CanRead,
    CanUpdate,
    CanDelete,
}

#[derive(DeriveIden)]
enum ContentTypes {
    Table,
    Id,
    AccountId,
    Name,
    Label,
    IsInternal,
    Definition,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContentObjects {
    Table,
    Pk,
    AccountId,
    ContentType,
    ObjectId,
    Data,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    Version,
}

#[derive(DeriveIden)]
enum ContentRefs {
    Table,
    SourcePk,
    Position,
    AccountId,
    TargetType,
    TargetId,
}

fn account_fk(
    from: impl IntoIden + 'static,
    table: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, from)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(string(Accounts::Id).primary_key())
                    .col(string_uniq(Accounts::Name))
                    .col(big_integer(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(string(ApiKeys::Id).primary_key())
                    .col(string(ApiKeys::AccountId))
                    .col(string(ApiKeys::Name))
                    .col(string(ApiKeys::Kind))
                    .col(string_uniq(ApiKeys::Digest))
                    .col(text_null(ApiKeys::Sealed))
                    .col(big_integer(ApiKeys::CreatedAt))
                    .col(big_integer(ApiKeys::UpdatedAt))
                    .foreign_key(&mut account_fk(ApiKeys::AccountId, ApiKeys::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_account")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyRules::Table)
                    .col(pk_auto(KeyRules::Id))
                    .col(string(KeyRules::KeyId))
                    .col(string(KeyRules::AccountId))
                    .col(string(KeyRules::ContentType))
                    .col(boolean(KeyRules::CanCreate))
                    .col(boolean(KeyRules::CanRead))
                    .col(boolean(KeyRules::CanUpdate))
                    .col(boolean(KeyRules::CanDelete))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyRules::Table, KeyRules::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(&mut account_fk(KeyRules::AccountId, KeyRules::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_rules_key_type")
                    .table(KeyRules::Table)
                    .col(KeyRules::KeyId)
                    .col(KeyRules::ContentType)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_rules_account_type")
                    .table(KeyRules::Table)
                    .col(KeyRules::AccountId)
                    .col(KeyRules::ContentType)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContentTypes::Table)
                    .col(string(ContentTypes::Id).primary_key())
                    .col(string(ContentTypes::AccountId))
                    .col(string(ContentTypes::Name))
                    .col(string(ContentTypes::Label))
                    .col(boolean(ContentTypes::IsInternal))
                    .col(json_binary(ContentTypes::Definition))
                    .col(big_integer(ContentTypes::CreatedAt))
                    .col(big_integer(ContentTypes::UpdatedAt))
                    .foreign_key(&mut account_fk(
                        ContentTypes::AccountId,
                        ContentTypes::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_content_types_account_name")
                    .table(ContentTypes::Table)
                    .col(ContentTypes::AccountId)
                    .col(ContentTypes::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContentObjects::Table)
                    .col(big_pk_auto(ContentObjects::Pk))
                    .col(string(ContentObjects::AccountId))
                    .col(string(ContentObjects::ContentType))
                    .col(string(ContentObjects::ObjectId))
                    .col(json_binary(ContentObjects::Data))
                    .col(big_integer(ContentObjects::CreatedAt))
                    .col(big_integer(ContentObjects::UpdatedAt))
                    .col(big_integer_null(ContentObjects::DeletedAt))
                    .col(integer(ContentObjects::Version))
                    .foreign_key(&mut account_fk(
                        ContentObjects::AccountId,
                        ContentObjects::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        // A live object's id is unique per type; soft-deleted rows keep theirs so that
        // `removed` can report them, and the id may be used again afterwards.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_content_objects_live_id ON content_objects \
                 (account_id, content_type, object_id) WHERE deleted_at IS NULL",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_content_objects_listing")
                    .table(ContentObjects::Table)
                    .col(ContentObjects::AccountId)
                    .col(ContentObjects::ContentType)
                    .col(ContentObjects::DeletedAt)
                    .col(ContentObjects::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ContentRefs::Table)
                    .col(big_integer(ContentRefs::SourcePk))
                    .col(integer(ContentRefs::Position))
                    .col(string(ContentRefs::AccountId))
                    .col(string(ContentRefs::TargetType))
                    .col(string(ContentRefs::TargetId))
                    .primary_key(
                        Index::create()
                            .col(ContentRefs::SourcePk)
                            .col(ContentRefs::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContentRefs::Table, ContentRefs::SourcePk)
                            .to(ContentObjects::Table, ContentObjects::Pk)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_content_refs_target")
                    .table(ContentRefs::Table)
                    .col(ContentRefs::AccountId)
                    .col(ContentRefs::TargetType)
                    .col(ContentRefs::TargetId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ContentRefs::Table.into_iden(),
            ContentObjects::Table.into_iden(),
            ContentTypes::Table.into_iden(),
            KeyRules::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
