//! The example content model (a small blog): its definitions and sample objects, as
//! shipped in `examples/blog`. `demo` loads them; `schema.graphql` is generated from them.

use crate::content::definitions::{TypeModel, model_of};

/// Definitions in dependency order; the same files generate `schema.graphql`.
pub const DEFINITIONS: [&str; 3] = [
    include_str!("../examples/blog/category.json"),
    include_str!("../examples/blog/author.json"),
    include_str!("../examples/blog/post.json"),
];
pub const OBJECTS: &str = include_str!("../examples/blog/objects.json");

/// The type models of the example blog, in definition order.
pub fn models() -> Vec<TypeModel> {
    DEFINITIONS
        .iter()
        .map(|text| model_of(&serde_json::from_str(text).expect("example definitions are JSON")))
        .collect()
}
