//! GraphQL answers over HTTP: their status and media type, and the key they are kept
//! by (see `http::kept`).

use async_graphql::{BatchResponse, Response, ServerError};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use super::schema::Flavor;
use crate::auth::Principal;
use crate::error::AppError;
use crate::graphql::errors::IntoGraphql;
use crate::http::{KeptKey, KeptScope};

/// The kept-answer key of one GraphQL request: its flavor and media type, document,
/// variables and operation name, under the caller's whole rule set (its schema).
pub(super) fn kept_key(
    principal: &Principal,
    flavor: Flavor,
    graphql_media: bool,
    request: &async_graphql::Request,
) -> Option<KeptKey> {
    // Large requests are rendered each time: their key would cost a copy of the request
    // on every call, and frontends repeat small queries.
    let variables_size = crate::content::json_size(&request.variables);
    if request.query.len() as u64 + variables_size > MAX_KEPT_REQUEST_BYTES {
        return None;
    }
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    // `None` and `Some("")` differ: the second names no operation and is an error.
    let operation = match request.operation_name.as_deref() {
        None => "-".to_owned(),
        Some(name) => format!("={name}"),
    };
    Some(KeptKey::new(
        principal,
        KeptScope::Schema(principal.schema_scope()),
        format!(
            "graphql {flavor:?} {graphql_media} {}:{operation} {}:{variables} {}",
            operation.len(),
            variables.len(),
            request.query
        ),
    ))
}

/// Document and variables, in bytes, up to which a GraphQL answer may be kept.
pub(super) const MAX_KEPT_REQUEST_BYTES: u64 = 64 * 1024;

/// The HTTP answer for an executed batch. With `application/graphql-response+json` a
/// request that could not run (parse or validation failure) is a 400; with plain
/// `application/json` it is a 200 carrying the errors, as GraphQL over HTTP says.
pub(super) fn encode(mut batch: BatchResponse, graphql_media: bool) -> (StatusCode, Bytes) {
    // The executor's own errors (syntax, validation) carry no code; every error does.
    let responses: Vec<&mut Response> = match &mut batch {
        BatchResponse::Single(response) => vec![response],
        BatchResponse::Batch(responses) => responses.iter_mut().collect(),
    };
    for error in responses.into_iter().flat_map(|r| r.errors.iter_mut()) {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_REQUEST");
        }
    }
    let request_error = matches!(&batch, BatchResponse::Single(r) if r.data == async_graphql::Value::Null && !r.errors.is_empty());
    let status = if graphql_media && request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Written straight from the response, so fields keep the order of the selection
    // (no tree in between, which would also sort them).
    let body = if request_error {
        // Nothing ran, so there is no `data` entry at all.
        let mut body = serde_json::to_value(&batch).unwrap_or_default();
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        serde_json::to_vec(&body)
    } else {
        serde_json::to_vec(&batch)
    };
    (status, Bytes::from(body.unwrap_or_default()))
}

pub(super) fn respond(batch: BatchResponse, graphql_media: bool) -> HttpResponse {
    let (status, body) = encode(batch, graphql_media);
    graphql_response(status, graphql_media, body)
}

pub(super) fn graphql_response(
    status: StatusCode,
    graphql_media: bool,
    body: Bytes,
) -> HttpResponse {
    let content_type = if graphql_media {
        "application/graphql-response+json; charset=utf-8"
    } else {
        "application/json"
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Whether the client prefers the GraphQL response media type over plain JSON.
pub(super) fn wants_graphql_media(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/graphql-response+json"))
}

/// A refusal before execution (quota, rate, limits, unreadable requests) in the
/// GraphQL response shape, with the REST status and headers.
pub(super) fn graphql_refusal(err: AppError, graphql_media: bool) -> HttpResponse {
    let status = crate::http::status_of(&err);
    let retry_after = err.retry_after();
    let graphql_error = err.into_graphql();
    let mut error = ServerError::new(graphql_error.message, None);
    error.extensions = graphql_error.extensions;
    let mut response = respond(
        BatchResponse::Single(Response::from_errors(vec![error])),
        graphql_media,
    );
    *response.status_mut() = status;
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}
