//! One error type for every service, and the one table that maps it to HTTP.
//! Internal failures are logged with the request id and answered with a fixed text:
//! database messages, paths and panics never reach a client.

use std::collections::BTreeMap;

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Field path → messages, the Flotiq validation shape.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("access denied")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("validation failed")]
    Validation(FieldErrors),
    /// A refusal with a list of reasons (`{"errors":[...]}`), e.g. a delete that is blocked.
    #[error("refused")]
    Refused(Vec<String>),
    /// A 400 whose body the service has already shaped (batch reports).
    #[error("bad request")]
    BadRequestBody(Value),
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

impl AppError {
    /// A validation error on a single field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(path.into(), vec![message.into()]);
        AppError::Validation(errors)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation(_)
            | AppError::Refused(_)
            | AppError::BadRequestBody(_)
            | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body a REST client sees.
    pub fn body(&self) -> Value {
        let status = self.status().as_u16();
        match self {
            AppError::Unauthorized => json!({"code": status, "message": "Unauthorized"}),
            AppError::Forbidden => json!({"code": status, "message": "Access denied"}),
            AppError::NotFound => json!({"code": status, "message": "Not found"}),
            AppError::Validation(errors) => json!(errors),
            AppError::Refused(errors) => json!({"errors": errors}),
            AppError::BadRequestBody(body) => body.clone(),
            AppError::TooLarge(message)
            | AppError::BadRequest(message)
            | AppError::TooManyRequests { message, .. } => {
                json!({"code": status, "message": message})
            }
            AppError::UnsupportedMediaType => {
                json!({"code": status, "message": "Unsupported Media Type"})
            }
            AppError::MethodNotAllowed => json!({"code": status, "message": "Method Not Allowed"}),
            AppError::Internal(_) => json!({"code": status, "message": "Internal server error"}),
        }
    }
}

impl AppError {
    /// The GraphQL `extensions.code`, from the same table as the HTTP status.
    pub fn graphql_code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "UNAUTHENTICATED",
            AppError::Forbidden => "FORBIDDEN",
            AppError::NotFound => "NOT_FOUND",
            AppError::Validation(_)
            | AppError::Refused(_)
            | AppError::BadRequestBody(_)
            | AppError::TooLarge(_) => "VALIDATION",
            AppError::UnsupportedMediaType
            | AppError::MethodNotAllowed
            | AppError::BadRequest(_) => "BAD_REQUEST",
            AppError::TooManyRequests { .. } => "QUOTA_EXCEEDED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The error as GraphQL reports it: a fixed message per code, the field messages
    /// of a validation failure in `extensions.errors`, nothing internal.
    pub fn into_graphql(self) -> async_graphql::Error {
        if let AppError::Internal(detail) = &self {
            tracing::error!(error = %detail, "graphql resolver failed");
        }
        let message = match &self {
            AppError::Unauthorized => "Unauthorized".to_owned(),
            AppError::Forbidden => "Access denied".to_owned(),
            AppError::NotFound => "Not found".to_owned(),
            AppError::TooLarge(message)
            | AppError::BadRequest(message)
            | AppError::TooManyRequests { message, .. } => message.clone(),
            AppError::Internal(_) => "Internal server error".to_owned(),
            _ => "Validation failed".to_owned(),
        };
        let code = self.graphql_code();
        let details = match &self {
            AppError::Validation(_) | AppError::Refused(_) | AppError::BadRequestBody(_) => {
                Some(self.body())
            }
            _ => None,
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(details) = details {
                extensions.set(
                    "errors",
                    async_graphql::Value::from_json(details).unwrap_or_default(),
                );
            }
        })
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            // The span carries the request id; the client only gets the fixed text.
            tracing::error!(error = %detail, "request failed");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let AppError::TooManyRequests { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
        }
        response
    }
}
