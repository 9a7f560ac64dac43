//! The objects one GraphQL request may resolve, whatever its data holds: every page,
//! relation, search and mutation takes its objects from one budget per HTTP request
//! (shared by the operations of a batch) before it loads them, and their bytes before
//! their fields resolve, so a request that would resolve more is refused at that field
//! before the work is done. The values answered have a budget of their own (aliases
//! repeat them without loading anything), and so do the errors reported.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::AppError;

/// Objects resolved per HTTP request at most.
pub const MAX_OBJECTS_PER_REQUEST: u64 = 10_000;
/// Bytes (as stored JSON) of the objects one HTTP request resolves, every copy counted,
/// at most: the bound REST's hydration has too.
pub const MAX_BYTES_PER_REQUEST: u64 = crate::content::hydrate::MAX_EMBEDDED_BYTES;
/// Bytes (as stored JSON) of the property values one HTTP request answers, every alias
/// and every copy counted, at most: aliases repeat a value without loading anything.
pub const MAX_ANSWER_BYTES_PER_REQUEST: u64 = MAX_BYTES_PER_REQUEST;

pub struct ObjectBudget {
    left: AtomicU64,
    bytes_left: AtomicU64,
    answer_bytes_left: AtomicU64,
    errors: AtomicU64,
}

impl Default for ObjectBudget {
    fn default() -> Self {
        ObjectBudget {
            left: AtomicU64::new(MAX_OBJECTS_PER_REQUEST),
            bytes_left: AtomicU64::new(MAX_BYTES_PER_REQUEST),
            answer_bytes_left: AtomicU64::new(MAX_ANSWER_BYTES_PER_REQUEST),
            errors: AtomicU64::new(0),
        }
    }
}

impl ObjectBudget {
    /// Takes `objects` from the budget, or refuses without taking any.
    pub fn take(&self, objects: u64) -> Result<(), AppError> {
        take_from(&self.left, objects, || {
            format!("more than {MAX_OBJECTS_PER_REQUEST} objects")
        })
    }

    /// Takes the size of objects about to be handed to their fields, or refuses.
    pub fn take_bytes(&self, bytes: u64) -> Result<(), AppError> {
        take_from(&self.bytes_left, bytes, || {
            format!(
                "more than {} MiB of objects",
                MAX_BYTES_PER_REQUEST / (1024 * 1024)
            )
        })
    }

    /// Takes the size of a value about to be answered, or refuses.
    pub fn take_answer_bytes(&self, bytes: u64) -> Result<(), AppError> {
        take_from(&self.answer_bytes_left, bytes, || {
            format!(
                "more than {} MiB of values (every alias and copy counted)",
                MAX_ANSWER_BYTES_PER_REQUEST / (1024 * 1024)
            )
        })
    }

    /// Counts one error reported by a field; the number reported before it.
    pub fn count_error(&self) -> u64 {
        self.errors.fetch_add(1, Ordering::Relaxed)
    }

    /// Gives back what a page did not use (it took its page size before loading).
    pub fn give_back(&self, objects: u64) {
        self.left.fetch_add(objects, Ordering::SeqCst);
    }
}

fn take_from(left: &AtomicU64, amount: u64, what: impl FnOnce() -> String) -> Result<(), AppError> {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
        left.checked_sub(amount)
    })
    .map(|_| ())
    .map_err(|_| {
        AppError::BadRequest(format!(
            "This request would resolve {}; ask for smaller pages or fewer nested relations",
            what()
        ))
    })
}
