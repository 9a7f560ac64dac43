//! List filters and ordering of content objects: parsed against the type definition
//! (`parse`), then written as SQL (`sql`). Anything we cannot honour is a 400 naming
//! the parameter, never a condition silently dropped.

mod parse;
mod sql;

pub use parse::{
    Condition, MAX_FILTER_VALUES, MAX_PATTERN_BYTES, Ordering, equals_condition, parse_direction,
    parse_filters, parse_order,
};
