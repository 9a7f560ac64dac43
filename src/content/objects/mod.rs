//! Content objects: read, list, create, update, delete, batches and the removed list.
//! Writes run in one transaction each (a batch is one transaction for its valid items).

pub mod batch;
mod fields;
pub mod hydrate;
mod media_rules;
mod read;
mod render;
pub mod stored;
mod write;

use crate::content::filter::{Condition, Ordering};

pub use fields::{Meta, ObjectFields};
pub use read::{authorized_type, get, list, list_fields, list_rendered, list_values, removed};
pub use render::render_value;
pub use write::{UNREADABLE_REFERENCE, create, create_uploaded, delete, update};

pub const MAX_OBJECT_BYTES: usize = 1024 * 1024;

pub const MAX_LIST_LIMIT: u64 = 1000;

pub struct ListParams {
    /// Reported as `current_page`; the rows start at `offset`.
    pub page: u64,
    pub limit: u64,
    pub offset: u64,
    pub ordering: Ordering,
    pub filters: Vec<Condition>,
    pub ids: Vec<String>,
    /// Levels of relations to hydrate (0 to 2).
    pub hydrate: u8,
}
