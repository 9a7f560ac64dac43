//! The ordering of a list (`order_by`, `order_direction`), checked against the
//! definition like a filter's target.

use super::parse::{Target, target_of};
use crate::content::definitions::TypeModel;
use crate::error::{AppError, AppResult};

/// The ordering of a list, checked against the definition.
#[derive(Clone, Debug)]
pub struct Ordering {
    pub(super) target: Target,
    pub(super) descending: bool,
    pub(super) empty_first: bool,
}

impl Ordering {
    /// Whether rows are ordered by a value read from their JSON (no index delivers it).
    pub fn by_property(&self) -> bool {
        matches!(self.target, Target::Prop { .. })
    }
}

/// `order_direction`: `asc` (the default) or `desc`.
pub fn parse_direction(direction: Option<&str>) -> AppResult<bool> {
    match direction.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(AppError::field("order_direction", "Must be asc or desc")),
    }
}

pub fn parse_order(
    model: &TypeModel,
    order_by: Option<&str>,
    direction: Option<&str>,
    empty_first: bool,
) -> AppResult<Ordering> {
    let target = match order_by.filter(|o| !o.is_empty()) {
        None => Target::Timestamp("created_at"),
        Some(path) => match target_of(model, path, "order_by")? {
            Target::Items { .. } => {
                return Err(AppError::field(
                    "order_by",
                    format!("Cannot order by the list field {path}"),
                ));
            }
            target => target,
        },
    };
    let descending = parse_direction(direction)?;
    Ok(Ordering {
        target,
        descending,
        empty_first,
    })
}
