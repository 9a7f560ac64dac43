//! The GraphQL API, generated from each account's content types and served beside
//! REST on the same services and scopes.

pub mod cache;
pub mod guard;
pub mod http;
pub mod limits;
pub mod loader;
pub mod naming;
pub mod schema;

use crate::content::definition::TypeModel;

/// Whether a set of content types makes valid schemas; content type writes that would
/// break them are refused (the schema in service stays as it was).
pub fn check_models(models: &[TypeModel]) -> Result<(), String> {
    let options = schema::Options {
        introspection: true,
        max_depth: limits::MAX_DEPTH,
    };
    schema::build(models, schema::Flavor::Current, options)?;
    schema::build(models, schema::Flavor::Legacy, options)?;
    Ok(())
}
