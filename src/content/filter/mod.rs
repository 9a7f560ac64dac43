//! List filters and ordering of content objects: parsed against the type definition
//! (`parse`), then written as SQL (`sql`). Anything we cannot honour is a 400 naming
//! the parameter, never a condition silently dropped.

mod order;
mod parse;
mod sql;

pub use order::{Ordering, parse_direction, parse_order};
pub use parse::{
    Condition, FilterSpec, MAX_FILTER_VALUES, MAX_PATTERN_BYTES, conditions_of, equals_condition,
    parse_filters,
};
