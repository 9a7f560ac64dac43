//! `/api/v1/internal/contenttype`: content type definitions.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::RestState;
use super::cache;
use crate::auth::Principal;
use crate::content::filter::parse_direction;
use crate::content::types::{self, ListParams, MAX_DEFINITION_LIMIT};
use crate::error::{AppError, AppResult};
use crate::http::{KeptScope, QueryParams, json_body};

pub fn router() -> Router<RestState> {
    Router::new()
        .route("/api/v1/internal/contenttype", get(list).post(create))
        .route(
            "/api/v1/internal/contenttype/{name}",
            get(read).put(update).delete(remove),
        )
}

async fn list(
    State(state): State<RestState>,
    principal: Principal,
    uri: Uri,
    headers: HeaderMap,
    query: QueryParams,
) -> AppResult<Response> {
    let descending = parse_direction(query.get("order_direction"))?;
    let internal = match query.get("internal") {
        None | Some("") => None,
        Some("0") | Some("false") => Some(false),
        Some("1") | Some("true") => Some(true),
        Some(_) => return Err(AppError::field("internal", "This value should be 0 or 1.")),
    };
    let mut names = query.all("names");
    // `names=a,b` as well as `names[]=a&names[]=b`.
    names = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    // Clients ask for 10000 to mean "all": clamp instead of refusing.
    let page = query.number("page", 1)?.max(1);
    let limit = query.number("limit", 20)?.clamp(1, MAX_DEFINITION_LIMIT);
    if page
        .checked_mul(limit)
        .is_none_or(|end| end > i64::MAX as u64)
    {
        return Err(AppError::field("page", "This value is too large."));
    }
    let params = ListParams {
        page,
        limit,
        order_by: query
            .get("order_by")
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
        descending,
        internal,
        name: query.get("name").map(str::to_owned),
        label: query.get("label").map(str::to_owned),
        names,
    };
    let scope = KeptScope::Schema(principal.schema_scope());
    let request = (uri.path(), &query, &headers);
    cache::json_in(&state.kept, &principal, scope, request, || {
        types::list(&state.db, &principal, &params)
    })
    .await
}

async fn read(
    State(state): State<RestState>,
    principal: Principal,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    query: QueryParams,
) -> AppResult<Response> {
    let scope = KeptScope::Schema(principal.schema_scope());
    let request = (uri.path(), &query, &headers);
    cache::json_in(&state.kept, &principal, scope, request, || {
        types::get(&state.db, &principal, &name)
    })
    .await
}

async fn create(
    State(state): State<RestState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    principal.require_type_admin()?;
    let body = json_body(&headers, body).await?;
    Ok(Json(
        types::create(&state.db, &principal, &body, state.check_definitions).await?,
    ))
}

async fn update(
    State(state): State<RestState>,
    principal: Principal,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    principal.require_type_admin()?;
    let body = json_body(&headers, body).await?;
    Ok(Json(
        types::update(&state.db, &principal, &name, &body, state.check_definitions).await?,
    ))
}

async fn remove(
    State(state): State<RestState>,
    principal: Principal,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    types::delete(&state.db, &principal, &name).await?;
    Ok(Json(json!({"code": 200, "message": "Deleted"})))
}
