//! The example content model (a small blog) and its sample objects, loaded by
//! `serve --demo` into an account that has no content types yet.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::auth::Principal;
use crate::content::{batch, types};
use crate::error::{AppError, AppResult};

pub use crate::examples::{DEFINITIONS, OBJECTS};

/// Loads the example blog unless the account already has content types of its own.
/// Returns whether anything was loaded.
pub async fn load(db: &DatabaseConnection, account_id: &str) -> AppResult<bool> {
    let existing = entity::content_type::Entity::find()
        .filter(entity::content_type::Column::AccountId.eq(account_id))
        .filter(entity::content_type::Column::IsInternal.eq(false))
        .count(db)
        .await?;
    if existing > 0 {
        return Ok(false);
    }
    // The loader acts as the account's own read-write key would.
    let loader = Principal::operator(account_id);
    for definition in DEFINITIONS {
        let body: Value =
            serde_json::from_str(definition).expect("example definitions are valid JSON");
        types::create(db, &loader, &body, crate::graphql::check_models).await?;
    }
    let samples: Value = serde_json::from_str(OBJECTS).expect("example objects are valid JSON");
    for (type_name, items) in samples.as_object().into_iter().flatten() {
        let report = batch::batch_create(db, &loader, type_name, items, false).await?;
        if !report.is_complete() {
            return Err(AppError::Internal(format!(
                "example objects of {type_name} were refused: {:?}",
                report.errors
            )));
        }
    }
    Ok(true)
}
