//! Reading a GraphQL request over HTTP: the body within the size limit, never a
//! multipart upload, into async-graphql's batch.

use async_graphql::ParseRequestError;
use async_graphql_axum::GraphQLBatchRequest;
use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::error::{AppError, AppResult};
use crate::http::MAX_BODY_BYTES;

/// The request's operations. A body is read up to the REST body limit and no further
/// (413 past it, before more is buffered); multipart bodies (file uploads) are refused.
pub(super) async fn batch(
    parts: Parts,
    body: axum::body::Body,
) -> AppResult<async_graphql::BatchRequest> {
    let request = if parts.method == Method::GET {
        axum::extract::Request::from_parts(parts, body)
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type
            .trim()
            .to_ascii_lowercase()
            .starts_with("multipart/")
        {
            return Err(AppError::UnsupportedMediaType);
        }
        let too_large = || AppError::TooLarge("Request body size limit exceeded".into());
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large())?;
        axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))
    };
    <GraphQLBatchRequest as axum::extract::FromRequest<()>>::from_request(request, &())
        .await
        .map(GraphQLBatchRequest::into_inner)
        .map_err(|rejection| match rejection.0 {
            ParseRequestError::PayloadTooLarge => {
                AppError::TooLarge("Request body size limit exceeded".into())
            }
            other => AppError::BadRequest(format!("The request could not be read: {other}")),
        })
}
