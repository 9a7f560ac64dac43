//! How a command failure is told: one line on standard error and an exit code.

use crate::error::AppError;

/// A command failure: the one line to print and the exit code.
pub(super) struct Failure(pub(super) String, pub(super) u8);

impl From<AppError> for Failure {
    fn from(err: AppError) -> Self {
        let message = match &err {
            AppError::NotFound => "not found".to_owned(),
            AppError::Internal(detail) => detail.clone(),
            AppError::Refused(reasons) => reasons.join("; "),
            other => other.body().to_string(),
        };
        let code = if matches!(err, AppError::Refused(_) | AppError::Validation(_)) {
            2
        } else {
            1
        };
        Failure(message, code)
    }
}
