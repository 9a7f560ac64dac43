//! Apollo's automatic persisted queries over GET and POST: an operation may carry
//! `extensions.persistedQuery.sha256Hash` instead of its document (answered
//! `PersistedQueryNotFound` until the client sends both once), and an account may run
//! only stored documents ("persisted only"). Cost limits apply to the document as to any.

use async_graphql::{BatchRequest, BatchResponse, Response, ServerError, Value};
use axum::response::Response as HttpResponse;

use crate::auth::Principal;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::persisted::PersistedDocuments;
use crate::persisted::hash_of;

/// Why an operation cannot run as sent.
pub(super) enum Unresolved {
    /// The hash names no stored document: the client retries with the document.
    NotFound,
    Refused(AppError),
}

impl From<AppError> for Unresolved {
    fn from(err: AppError) -> Self {
        Unresolved::Refused(err)
    }
}

/// The hash an operation's extension names, if it has one.
fn requested_hash(request: &async_graphql::Request) -> AppResult<Option<String>> {
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let bad = |why: &str| AppError::BadRequest(format!("persistedQuery: {why}"));
    let Value::Object(fields) = extension else {
        return Err(bad("expected an object"));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => return Err(bad("only version 1 is supported")),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(bad("sha256Hash must be 64 hexadecimal characters")),
    }
}

/// Puts the stored document into every operation that sent only its hash, and checks
/// the rest against the account's mode. Returns the documents to store once the
/// operations pass the request checks.
/// Where stored documents are read and written.
pub(super) struct Store<'a> {
    pub documents: &'a PersistedDocuments,
    pub db: &'a Db,
}

pub(super) async fn resolve(
    state: Store<'_>,
    principal: &Principal,
    batch: &mut BatchRequest,
) -> Result<Vec<String>, Unresolved> {
    // By slice, not `iter_mut` (whose boxed iterator is not `Send` across an await).
    let requests = match batch {
        BatchRequest::Single(request) => std::slice::from_mut(request),
        BatchRequest::Batch(requests) => requests.as_mut_slice(),
    };
    let mut to_store = Vec::new();
    for request in requests {
        if let Some(document) = resolve_one(&state, principal, request).await? {
            to_store.push(document);
        }
    }
    Ok(to_store)
}

async fn resolve_one(
    state: &Store<'_>,
    principal: &Principal,
    request: &mut async_graphql::Request,
) -> Result<Option<String>, Unresolved> {
    let account = principal.account_id();
    let hash = requested_hash(request)?;
    let sent = !request.query.trim().is_empty();
    match (hash, sent) {
        (Some(hash), false) => {
            let document = state.documents.find(state.db, account, &hash).await?;
            request.query = document.ok_or(Unresolved::NotFound)?.to_string();
            Ok(None)
        }
        (Some(hash), true) => {
            if hash_of(&request.query) != hash {
                let mismatch = AppError::BadRequest("provided sha does not match query".into());
                return Err(mismatch.into());
            }
            if principal.runs_only_persisted() {
                require_stored(state, account, &hash).await?;
                return Ok(None);
            }
            Ok(Some(request.query.clone()))
        }
        (None, true) if principal.runs_only_persisted() => {
            require_stored(state, account, &hash_of(&request.query)).await?;
            Ok(None)
        }
        (None, _) => Ok(None),
    }
}

async fn require_stored(state: &Store<'_>, account: &str, hash: &str) -> Result<(), Unresolved> {
    match state.documents.find(state.db, account, hash).await? {
        Some(_) => Ok(()),
        None => Err(AppError::ForbiddenBecause(
            "This account runs only persisted queries; this document is not one of them".into(),
        )
        .into()),
    }
}

/// Stores what `resolve` returned, after the operations passed the checks.
pub(super) async fn store(state: Store<'_>, principal: &Principal, documents: Vec<String>) {
    for document in documents {
        if let Err(err) = state
            .documents
            .store(state.db, principal.account_id(), &document)
            .await
        {
            // The operation runs all the same; the client sends the document again.
            tracing::warn!(error = %err, "storing a persisted query failed");
        }
    }
}

/// Apollo's answer to a hash it does not know: the client sends the document next.
pub(super) fn not_found(graphql_media: bool) -> HttpResponse {
    let mut error = ServerError::new("PersistedQueryNotFound", None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "PERSISTED_QUERY_NOT_FOUND");
    error.extensions = Some(extensions);
    super::answer::respond(
        BatchResponse::Single(Response::from_errors(vec![error])),
        graphql_media,
    )
}
