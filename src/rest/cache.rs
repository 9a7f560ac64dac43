//! Kept REST answers (object, list, search): the request key is the path and the query
//! without `auth_token`, the scope the caller's read scope (see `http::kept`).

use std::future::Future;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::{KeptAnswers, KeptKey, KeptScope, QueryParams};

/// The JSON answer to `path` with `query` for `principal`: the kept one, or `render`'s,
/// kept. Errors are returned as they are and never kept.
pub async fn json<F, Fut, T>(
    kept: &KeptAnswers,
    principal: &Principal,
    path: &str,
    query: &QueryParams,
    render: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<T>>,
    T: serde::Serialize,
{
    if !kept.enabled() {
        return Ok(json_response(encode(&render().await?)));
    }
    let key = KeptKey::new(
        principal,
        KeptScope::Read(principal.read_scope()),
        request_key(path, query),
    );
    if let Some(body) = kept.get(&key) {
        return Ok(json_response(body));
    }
    let body = encode(&render().await?);
    kept.insert(key, body.clone());
    Ok(json_response(body))
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
