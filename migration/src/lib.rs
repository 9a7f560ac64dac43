//! Migrations for ContentGate's system tables. Content types are data, so nothing here
//! ever depends on a user's content model.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

pub use m20261126_000008_add_search_scope::scope_token;
pub use m20261201_000009_add_unique_values::{unique_property, unique_value};
pub use m20261202_000012_add_principal_notifications::PRINCIPAL_CHANNEL;

/// The unique index of live objects by (account, type, id), created by the first
/// migration; reads by id name it on SQLite, whose planner otherwise prefers the listing
/// index (a scan of the whole type) for `object_id IN (...)` when it has no statistics.
pub const LIVE_ID_INDEX: &str = "idx_content_objects_live_id";

mod m20261126_000001_create_system_tables;
mod m20261126_000002_add_search_index;
mod m20261126_000003_add_schema_revision;
mod m20261126_000004_add_content_counts;
mod m20261126_000005_add_live_order_indexes;
mod m20261126_000006_add_plans_and_usage;
mod m20261126_000007_add_content_revisions;
mod m20261126_000008_add_search_scope;
mod m20261201_000009_add_unique_values;
mod m20261202_000010_add_admins;
mod m20261202_000011_add_key_life;
mod m20261202_000012_add_principal_notifications;
mod m20261204_000013_bound_search_pending_list;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_system_tables::Migration),
            Box::new(m20261126_000002_add_search_index::Migration),
            Box::new(m20261126_000003_add_schema_revision::Migration),
            Box::new(m20261126_000004_add_content_counts::Migration),
            Box::new(m20261126_000005_add_live_order_indexes::Migration),
            Box::new(m20261126_000006_add_plans_and_usage::Migration),
            Box::new(m20261126_000007_add_content_revisions::Migration),
            Box::new(m20261126_000008_add_search_scope::Migration),
            Box::new(m20261201_000009_add_unique_values::Migration),
            Box::new(m20261202_000010_add_admins::Migration),
            Box::new(m20261202_000011_add_key_life::Migration),
            Box::new(m20261202_000012_add_principal_notifications::Migration),
            Box::new(m20261204_000013_bound_search_pending_list::Migration),
        ]
    }
}
