//! What admission leaves for the response headers: the account's 30-day allowance.

use std::sync::{Arc, Mutex};

/// What a response tells the client about the account's 30-day allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the oldest day leaves the window (the next UTC midnight).
    pub reset: u64,
}

/// Where admission leaves the allowance for the response headers (see `app.rs`).
#[derive(Clone, Default)]
pub struct AllowanceSlot(Arc<Mutex<Option<Allowance>>>);

impl AllowanceSlot {
    pub(super) fn set(&self, allowance: Option<Allowance>) {
        *self.0.lock().expect("allowance slot") = allowance;
    }

    pub fn get(&self) -> Option<Allowance> {
        *self.0.lock().expect("allowance slot")
    }
}
