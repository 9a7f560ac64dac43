//! Per-account request quotas: plans, the meter that admits requests against them, and
//! the counts kept in the database. Every key of an account draws on one allowance.

mod allowance;
pub mod key_use;
pub mod meter;
pub mod plans;
pub mod usage;

use std::sync::Arc;
use std::time::Duration;

pub use meter::{Allowance, AllowanceSlot, Meter};
pub use plans::{Plan, Plans};

/// How often each instance writes its counts and re-reads the shared window.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What an `AppState` needs to meter requests.
#[derive(Clone)]
pub struct QuotaOptions {
    pub plans: Arc<Plans>,
    pub flush_interval: Duration,
    /// `false` admits everything and counts nothing.
    pub enabled: bool,
}

impl Default for QuotaOptions {
    fn default() -> Self {
        QuotaOptions {
            plans: Arc::default(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            enabled: true,
        }
    }
}
