//! What the HTTP adapters share: their common state, reading the caller's key, query
//! strings and bodies, and the error table rendered as HTTP. REST and GraphQL both
//! stand on it; neither imports the other.

mod client;
mod cors;
mod kept;
mod request;
mod response;
mod state;

pub use client::{ClientIp, TrustedProxies, resolve_client};
pub use cors::CorsOrigins;
pub use kept::{
    DEFAULT_KEPT_BYTES, KeptAnswers, KeptKey, KeptScope, not_modified, not_modified_response,
    read_headers,
};
pub use request::{Admission, MAX_BODY_BYTES, QueryParams, authenticate, json_body};
pub use response::{allowance_headers, status_of};
pub use state::Shared;
