//! The GraphQL API, generated from each account's content types and served beside
//! REST on the same services and scopes.

mod answer;
pub mod budget;
pub mod cache;
mod documents;
pub mod errors;
pub mod guard;
pub mod http;
pub mod limits;
pub mod loader;
pub mod naming;
mod nesting;
mod persisted;
mod playground;
mod read;
pub mod schema;

use crate::auth::Principal;
use crate::content::definitions::TypeModel;

/// Whether a set of content types makes valid schemas, and a changed type (`before`
/// is what it was) keeps the GraphQL name of every property it keeps; content type
/// writes that would break either are refused (the schema in service stays as it was).
pub fn check_models(models: &[TypeModel], before: Option<&TypeModel>) -> Result<(), String> {
    // Every property kept keeps its field (removing one can move another too).
    if let Some(before) = before {
        let after = models.iter().find(|m| m.name == before.name);
        if let Some(after) = after {
            let (old, new) = (schema::field_names(before), schema::field_names(after));
            for (property, field) in &old {
                let Some(moved) = new.get(property).filter(|moved| *moved != field) else {
                    continue;
                };
                let taker = new.iter().find(|(_, f)| *f == field).map(|(p, _)| p);
                return Err(format!(
                    "property {property} would move from GraphQL field {field} to {moved}{}, and queries of {field} would read another property; name the properties so that no kept one moves",
                    taker
                        .map(|p| format!(" (its field going to property {p})"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    let options = schema::Options {
        introspection: true,
    };
    let operator = Principal::operator("");
    schema::build(models, schema::Flavor::Current, options, &operator)?;
    schema::build(models, schema::Flavor::Legacy, options, &operator)?;
    Ok(())
}

/// The SDL of the schema for these content types as the operator sees it (what `contentgate schema` prints and
/// `schema.graphql` holds for the example model).
pub fn sdl(models: &[TypeModel], legacy: bool) -> Result<String, String> {
    let options = schema::Options {
        introspection: true,
    };
    let flavor = if legacy {
        schema::Flavor::Legacy
    } else {
        schema::Flavor::Current
    };
    Ok(schema::build(models, flavor, options, &Principal::operator(""))?.sdl())
}

pub use schema::first_query;

/// The type models of an account holding the example blog (`examples/blog`): the
/// internal types every account has, then the blog's, in definition order.
pub fn example_models() -> Vec<TypeModel> {
    let internal = crate::content::internal::definitions();
    let mut models: Vec<TypeModel> = internal
        .iter()
        .map(crate::content::definitions::model_of)
        .collect();
    models.extend(crate::examples::models());
    models
}
