//! GraphQL over HTTP: `/api/v2/graphql` (current) and `/api/graphql` (legacy), their
//! SDL; the GraphiQL playground is in `playground`.

use std::sync::Arc;

use async_graphql::{BatchResponse, Executor, Response};
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response as HttpResponse};
use axum::routing::get;

use super::answer::{encode, graphql_refusal, graphql_response, kept_key, wants_graphql_media};
use super::budget::ObjectBudget;
use super::cache::{AccountSchemas, SchemaCache};
use super::limits::{self, MAX_BATCH};
use super::loader::RelationLoader;
use super::persisted::Unresolved;
use super::playground;
use super::schema::Flavor;
use crate::auth::Principal;
use crate::content::{NUL_MESSAGE, contains_nul};
use crate::error::{AppError, AppResult};
use crate::http::{KeptAnswers, Shared, not_modified, not_modified_response, read_headers};

/// What the GraphQL endpoints use: the shared services and the kept schemas.
#[derive(Clone)]
pub struct GraphqlState {
    pub shared: Shared,
    pub schemas: Arc<SchemaCache>,
    /// Kept answers, shared with REST (one memory budget).
    pub kept: Arc<KeptAnswers>,
    /// Persisted queries of every account (Apollo's APQ).
    pub persisted: Arc<crate::persisted::PersistedDocuments>,
    /// Documents parsed before, per account.
    pub parsed: Arc<super::documents::ParsedDocuments>,
}

impl std::ops::Deref for GraphqlState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl FromRef<GraphqlState> for Shared {
    fn from_ref(state: &GraphqlState) -> Shared {
        state.shared.clone()
    }
}

impl GraphqlState {
    /// The caller's account's GraphQL schemas, as of its authentication.
    pub async fn schemas(&self, principal: &Principal) -> AppResult<Arc<AccountSchemas>> {
        let models = self.shared.models(principal).await?;
        self.schemas.get(principal, models).await
    }
}

pub fn router(state: GraphqlState) -> Router {
    Router::new()
        .route("/api/v2/graphql", get(current).post(current))
        .route("/api/graphql", get(legacy).post(legacy))
        .route("/api/v2/graphql/schema", get(current_sdl))
        .route("/api/graphql/schema", get(legacy_sdl))
        .route("/graphiql/{file}", get(playground::asset))
        .with_state(state)
}

/// With a key in the page's URL, GraphiQL opens on a first query over the first type
/// that key reads (nothing without a key, or with a bad one: the page is the same).
async fn first_query(state: &GraphqlState, parts: &Parts) -> Option<String> {
    crate::http::QueryParams::from_parts(parts).get("auth_token")?;
    let principal = crate::http::authenticate(parts, &state.shared).await.ok()?;
    // Counted, and refused from an origin or network the key does not allow, as any
    // request with the key is.
    crate::http::Admission::of(parts)
        .admit(&state.shared, &principal, 1)
        .await
        .ok()?;
    let models = state.shared.models(&principal).await.ok()?;
    let readable: Vec<_> = models
        .ordered
        .iter()
        .filter(|m| !crate::content::internal::is_internal(&m.name))
        .filter(|m| principal.can(&m.name, crate::auth::Action::Read))
        .cloned()
        .collect();
    super::first_query(&readable)
}

async fn current(
    State(state): State<GraphqlState>,
    request: axum::extract::Request,
) -> HttpResponse {
    endpoint(state, Flavor::Current, request).await
}

async fn legacy(
    State(state): State<GraphqlState>,
    request: axum::extract::Request,
) -> HttpResponse {
    endpoint(state, Flavor::Legacy, request).await
}

async fn endpoint(
    state: GraphqlState,
    flavor: Flavor,
    request: axum::extract::Request,
) -> HttpResponse {
    let (parts, body) = request.into_parts();
    if playground::wanted(&parts) {
        let path = if flavor == Flavor::Current {
            "/api/v2/graphql"
        } else {
            "/api/graphql"
        };
        let first = match flavor {
            Flavor::Current => first_query(&state, &parts).await,
            Flavor::Legacy => None,
        };
        return Html(playground::page(path, first.as_deref())).into_response();
    }
    let method = parts.method.clone();
    let graphql_media = wants_graphql_media(&parts.headers);
    let principal = match crate::http::authenticate(&parts, &state).await {
        Ok(principal) => principal,
        Err(err) => return err.into_response(),
    };
    let admission = crate::http::Admission::of(&parts);
    // Queries over GET are conditional requests: only their `If-None-Match` is kept.
    let conditional = (method == Method::GET).then(|| {
        let mut tags = HeaderMap::new();
        for tag in parts.headers.get_all(header::IF_NONE_MATCH) {
            tags.append(header::IF_NONE_MATCH, tag.clone());
        }
        tags
    });
    let batch = super::read::batch(parts, body).await;
    // Each operation of a batch counts; a request that cannot be read counts once.
    let operations = match &batch {
        Ok(async_graphql::BatchRequest::Batch(requests)) => requests.len().clamp(1, MAX_BATCH),
        _ => 1,
    };
    let admitted = admission.admit(&state, &principal, operations as u64).await;
    if let Err(err) = admitted {
        return graphql_refusal(err, graphql_media);
    }
    let batch = match batch {
        Ok(batch) => batch,
        Err(err) => return graphql_refusal(err, graphql_media),
    };
    let request = Operations {
        flavor,
        method: &method,
        conditional: conditional.as_ref(),
        graphql_media,
    };
    match execute(&state, request, principal, batch).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn persisted_store(state: &GraphqlState) -> super::persisted::Store<'_> {
    super::persisted::Store {
        documents: &state.persisted,
        db: &state.db,
    }
}

/// How a batch came: its endpoint, method, the headers of a conditional GET, and the
/// media type the client prefers.
struct Operations<'a> {
    flavor: Flavor,
    method: &'a Method,
    conditional: Option<&'a HeaderMap>,
    graphql_media: bool,
}

async fn execute(
    state: &GraphqlState,
    request: Operations<'_>,
    principal: Principal,
    mut batch: async_graphql::BatchRequest,
) -> AppResult<HttpResponse> {
    let Operations {
        flavor,
        method,
        conditional,
        graphql_media,
    } = request;
    let refuse = |message: String| {
        Ok(graphql_refusal(
            AppError::BadRequest(message),
            graphql_media,
        ))
    };
    let count = batch.iter_mut().count();
    if count == 0 {
        return refuse("A batch holds at least one operation".to_owned());
    }
    if count > MAX_BATCH {
        return refuse(format!(
            "A batch holds at most {MAX_BATCH} operations, {count} sent"
        ));
    }
    let to_store =
        match super::persisted::resolve(persisted_store(state), &principal, &mut batch).await {
            Ok(documents) => documents,
            Err(Unresolved::NotFound) => return Ok(super::persisted::not_found(graphql_media)),
            Err(Unresolved::Refused(err)) => return Ok(graphql_refusal(err, graphql_media)),
        };
    // A single query kept before is answered at once: it passed every check below then,
    // and nothing it depends on has changed since (see `http::kept`). Over GET, its key
    // is also the answer's entity tag.
    let kept_key = match &batch {
        async_graphql::BatchRequest::Single(request)
            if state.kept.enabled() || conditional.is_some() =>
        {
            kept_key(&principal, flavor, graphql_media, request)
        }
        _ => None,
    };
    let etag = conditional
        .and(kept_key.as_ref())
        .map(|key| state.kept.etag(key));
    if let (Some(etag), Some(headers)) = (&etag, conditional)
        && not_modified(headers, etag)
    {
        return Ok(not_modified_response(etag.clone()));
    }
    let read_answer = |body| {
        let mut response = graphql_response(StatusCode::OK, graphql_media, body);
        if let Some(etag) = &etag {
            read_headers(response.headers_mut(), etag.clone());
        }
        response
    };
    if let Some(body) = kept_key.as_ref().and_then(|key| state.kept.get(key)) {
        return Ok(read_answer(body));
    }
    let schemas = state.schemas(&principal).await?;
    let is_relation = |name: &str| schemas.relation_fields.contains(name);
    let documents = limits::Documents {
        cache: &state.parsed,
        account_id: principal.account_id(),
    };
    let mut writes = false;
    for request in batch.iter_mut() {
        if request.query.trim().is_empty() {
            return refuse("The request holds no GraphQL document".to_owned());
        }
        let variables = serde_json::to_value(&request.variables).unwrap_or_default();
        if request.query.contains('\0')
            || request.query.contains("\\u0000")
            || contains_nul(&variables)
        {
            return refuse(NUL_MESSAGE.to_owned());
        }
        match limits::check(request, &documents, &is_relation) {
            Err(message) => return refuse(message),
            Ok(checked) if checked.is_mutation && method == Method::GET => {
                return Ok((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], axum::Json(serde_json::json!({
                    "errors": [{"message": "Mutations are only accepted over POST", "extensions": {"code": "BAD_REQUEST"}}]
                })))
                    .into_response());
            }
            Ok(checked) => writes |= checked.is_mutation,
        }
    }
    let schema = match flavor {
        Flavor::Current => &schemas.current,
        Flavor::Legacy => &schemas.legacy,
    };
    // One loader per request: its batches carry this caller's read scope. One object
    // budget for the whole HTTP request, shared by its operations.
    let budget = Arc::new(ObjectBudget::default());
    for request in batch.iter_mut() {
        add_request_data(
            request,
            &state.db,
            &principal,
            schemas.models.clone(),
            budget.clone(),
        );
    }
    let answer = schema.execute_batch(batch).await;
    // A document is stored once it ran: one that did not parse or validate never is.
    let ran = |r: &Response| r.data != async_graphql::Value::Null || r.errors.is_empty();
    let all_ran = match &answer {
        BatchResponse::Single(response) => ran(response),
        BatchResponse::Batch(responses) => responses.iter().all(ran),
    };
    if all_ran {
        super::persisted::store(persisted_store(state), &principal, to_store).await;
    }
    let keep = match (&answer, kept_key) {
        (BatchResponse::Single(response), Some(key)) if !writes && response.errors.is_empty() => {
            Some(key)
        }
        _ => None,
    };
    let (status, body) = encode(answer, graphql_media);
    match keep {
        Some(key) => {
            state.kept.insert(key, body.clone());
            Ok(read_answer(body))
        }
        None => Ok(graphql_response(status, graphql_media, body)),
    }
}

/// What every resolver of one operation reads: the caller, a relation loader created
/// for it (so its batches carry its read scope), the database, the account's models and
/// the request's object budget.
pub fn add_request_data(
    request: &mut async_graphql::Request,
    db: &crate::db::Db,
    principal: &Principal,
    models: Arc<crate::content::models::Models>,
    budget: Arc<ObjectBudget>,
) {
    let loader = RelationLoader::new(db.clone(), principal.clone(), models.clone());
    request.data.insert(loader);
    request.data.insert(principal.clone());
    request.data.insert(db.clone());
    request.data.insert(models);
    request.data.insert(budget);
}

async fn sdl(
    state: GraphqlState,
    principal: Principal,
    flavor: Flavor,
    headers: HeaderMap,
) -> AppResult<HttpResponse> {
    let key = crate::http::KeptKey::new(
        &principal,
        crate::http::KeptScope::Schema(principal.schema_scope()),
        format!("sdl {flavor:?}"),
    );
    let etag = state.kept.etag(&key);
    if not_modified(&headers, &etag) {
        return Ok(not_modified_response(etag));
    }
    let schemas = state.schemas(&principal).await?;
    let schema = if flavor == Flavor::Current {
        &schemas.current
    } else {
        &schemas.legacy
    };
    let mut response = (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        schema.sdl(),
    )
        .into_response();
    read_headers(response.headers_mut(), etag);
    Ok(response)
}

async fn current_sdl(
    State(state): State<GraphqlState>,
    principal: Principal,
    headers: HeaderMap,
) -> AppResult<HttpResponse> {
    sdl(state, principal, Flavor::Current, headers).await
}

async fn legacy_sdl(
    State(state): State<GraphqlState>,
    principal: Principal,
    headers: HeaderMap,
) -> AppResult<HttpResponse> {
    sdl(state, principal, Flavor::Legacy, headers).await
}
