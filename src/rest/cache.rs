//! Kept REST answers (object, list, search): the request key is the path and the query
//! without `auth_token`, the scope the caller's read scope (see `http::kept`).

use std::future::Future;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::{
    KeptAnswers, KeptKey, KeptScope, QueryParams, not_modified, not_modified_response, read_headers,
};

/// The JSON answer to `path` with `query` for `principal`, decided by its read scope
/// (objects, lists, search): `304` when the client's `If-None-Match` names its tag,
/// else the kept one, or `render`'s, kept. Errors are returned as they are, never kept.
pub async fn json<F, Fut, T>(
    kept: &KeptAnswers,
    principal: &Principal,
    request: (&str, &QueryParams, &HeaderMap),
    render: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<T>>,
    T: serde::Serialize,
{
    let scope = KeptScope::Read(principal.read_scope());
    json_in(kept, principal, scope, request, render).await
}

/// As `json`, for answers decided by another part of the caller's scope (definitions
/// are visible by the whole rule set).
pub async fn json_in<F, Fut, T>(
    kept: &KeptAnswers,
    principal: &Principal,
    scope: KeptScope,
    request: (&str, &QueryParams, &HeaderMap),
    render: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<T>>,
    T: serde::Serialize,
{
    let (path, query, headers) = request;
    let key = KeptKey::new(principal, scope, request_key(path, query));
    let etag = kept.etag(&key);
    if not_modified(headers, &etag) {
        return Ok(not_modified_response(etag));
    }
    let body = match kept.get(&key) {
        Some(body) => body,
        None => {
            let body = encode(&render().await?);
            kept.insert(key, body.clone());
            body
        }
    };
    let mut response = json_response(body);
    read_headers(response.headers_mut(), etag);
    Ok(response)
}

fn encode(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("a JSON value always serializes"))
}

fn json_response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The path and the query parameters in order, without the key.
fn request_key(path: &str, query: &QueryParams) -> String {
    let kept = query.0.iter().filter(|(name, _)| name != "auth_token");
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{query}")
}
