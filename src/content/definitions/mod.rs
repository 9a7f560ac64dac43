//! Content type definitions as data: their validation, the model parsed from them, the
//! JSON Schema objects are checked against, and the account's models kept per schema
//! revision. Everything else in `content` reads types through this module.

pub mod conform;
pub mod model;
pub mod models;
mod property;
mod schema;
pub mod validate;

pub use model::{Property, SchemaType, TypeModel};
pub use validate::model_of;
