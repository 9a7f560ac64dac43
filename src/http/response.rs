//! The error table rendered as HTTP, and the allowance headers of metered requests.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::quota::Allowance;

pub fn status_of(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log_internal("request failed");
        let mut response = (status_of(&self), axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) for the 30-day quota.
pub fn allowance_headers(allowance: &Allowance, headers: &mut HeaderMap) {
    for (name, value) in [
        ("x-ratelimit-limit", allowance.limit),
        ("x-ratelimit-remaining", allowance.remaining),
        ("x-ratelimit-reset", allowance.reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}
