//! What the HTTP adapters share: reading the caller's key, query strings and bodies.
//! REST and GraphQL both stand on it; neither imports the other.

mod request;

pub use request::{MAX_BODY_BYTES, QueryParams, authenticate, json_body};
