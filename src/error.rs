//! One error type for every service, and the one table that says, for each, its HTTP
//! status, its stable code and the fixed text a client sees. The adapters only render
//! it: `http::response` as REST JSON, `graphql::errors` as GraphQL errors, the command
//! line as a line of text. Internal failures carry their detail for the log only:
//! database messages, paths and panics never reach a client.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Field path → messages, the Flotiq validation shape.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("access denied")]
    Forbidden,
    /// 403 with a reason the caller can act on (a key used from a place it may not be).
    #[error("access denied: {0}")]
    ForbiddenBecause(String),
    #[error("not found")]
    NotFound,
    #[error("validation failed")]
    Validation(FieldErrors),
    /// A refusal with a list of reasons (`{"errors":[...]}`), e.g. a delete that is blocked.
    #[error("refused")]
    Refused(Vec<String>),
    /// A definition change that existing objects (by id) would not satisfy.
    #[error("objects do not conform")]
    Nonconforming(BTreeMap<String, FieldErrors>),
    #[error("too large")]
    TooLarge(String),
    /// A request that cannot be served as sent: malformed, or past a documented limit.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over the account's 30-day quota or its per-second rate.
    #[error("too many requests")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// The message of a definition change refused by `Nonconforming`.
pub const NONCONFORMING_MESSAGE: &str =
    "Existing objects do not conform to the new schema. Update or remove them first.";

impl AppError {
    /// A validation error on a single field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(path.into(), vec![message.into()]);
        AppError::Validation(errors)
    }

    /// The table: HTTP status and stable code (GraphQL's `extensions.code`).
    pub fn entry(&self) -> (u16, &'static str) {
        match self {
            AppError::Unauthorized => (401, "UNAUTHENTICATED"),
            AppError::Forbidden | AppError::ForbiddenBecause(_) => (403, "FORBIDDEN"),
            AppError::NotFound => (404, "NOT_FOUND"),
            AppError::Validation(_) | AppError::Refused(_) | AppError::Nonconforming(_) => {
                (400, "VALIDATION")
            }
            AppError::TooLarge(_) => (413, "VALIDATION"),
            AppError::BadRequest(_) => (400, "BAD_REQUEST"),
            AppError::UnsupportedMediaType => (415, "BAD_REQUEST"),
            AppError::MethodNotAllowed => (405, "BAD_REQUEST"),
            AppError::TooManyRequests { .. } => (429, "QUOTA_EXCEEDED"),
            AppError::Internal(_) => (500, "INTERNAL"),
        }
    }

    pub fn status(&self) -> u16 {
        self.entry().0
    }

    pub fn code(&self) -> &'static str {
        self.entry().1
    }

    /// The one-line message a client sees.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthorized => "Unauthorized".to_owned(),
            AppError::Forbidden => "Access denied".to_owned(),
            AppError::NotFound => "Not found".to_owned(),
            AppError::Validation(_) | AppError::Refused(_) | AppError::Nonconforming(_) => {
                "Validation failed".to_owned()
            }
            AppError::TooLarge(message)
            | AppError::ForbiddenBecause(message)
            | AppError::BadRequest(message)
            | AppError::TooManyRequests { message, .. } => message.clone(),
            AppError::UnsupportedMediaType => "Unsupported Media Type".to_owned(),
            AppError::MethodNotAllowed => "Method Not Allowed".to_owned(),
            AppError::Internal(_) => "Internal server error".to_owned(),
        }
    }

    /// The field-by-field detail of a refusal, in Flotiq's shapes; `None` for errors
    /// that a message says all of.
    pub fn details(&self) -> Option<Value> {
        match self {
            AppError::Validation(errors) => Some(json!(errors)),
            AppError::Refused(errors) => Some(json!({"errors": errors})),
            AppError::Nonconforming(objects) => {
                Some(json!({"ctd": [NONCONFORMING_MESSAGE], "co": objects}))
            }
            _ => None,
        }
    }

    /// The body a REST client sees: the details, or `{"code":..,"message":..}`.
    pub fn body(&self) -> Value {
        self.details()
            .unwrap_or_else(|| json!({"code": self.status(), "message": self.message()}))
    }

    /// Seconds a client should wait, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Logs an internal failure (the span carries the request id); the client only
    /// ever gets the fixed text.
    pub fn log_internal(&self, context: &str) {
        if let AppError::Internal(detail) = self {
            tracing::error!(error = %detail, "{context}");
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(err: std::io::Error) -> Self {
        AppError::Internal(format!("io: {err}"))
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}
