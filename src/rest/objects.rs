//! `/api/v1/content/{type}`: content objects.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{RestState, cache};
use crate::auth::{Action, Principal};
use crate::content::batch;
use crate::content::filter::{parse_filters, parse_order};
use crate::content::hydrate::parse_depth;
use crate::content::objects::{self, ListParams};
use crate::error::{AppError, AppResult};
use crate::http::{QueryParams, json_body};
use crate::time::parse_client_date;

pub fn router() -> Router<RestState> {
    Router::new()
        .route("/api/v1/content/{type}", get(list).post(create))
        .route(
            "/api/v1/content/{type}/batch",
            post(batch_create).patch(batch_patch),
        )
        .route("/api/v1/content/{type}/batch-delete", post(batch_delete))
        .route("/api/v1/content/{type}/removed", get(removed))
        .route(
            "/api/v1/content/{type}/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
}

async fn list(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    query: QueryParams,
) -> AppResult<Response> {
    let models = state.models(&principal).await?;
    let model = models.authorized(&principal, &type_name, &[Action::Read])?;
    let (page, limit) = query.paging()?;
    let filters = match query.get("filters").map(str::trim) {
        None | Some("") => Vec::new(),
        Some(raw) => parse_filters(model, raw)?,
    };
    let ordering = parse_order(
        model,
        query.get("order_by"),
        query.get("order_direction"),
        query.flag("empty_first")?,
    )?;
    let params = ListParams {
        page,
        limit,
        offset: (page - 1) * limit,
        ordering,
        filters,
        ids: query.all("ids"),
        hydrate: parse_depth(query.get("hydrate"))?,
    };
    cache::json(
        &state.kept,
        &principal,
        (uri.path(), &query, &headers),
        || async { objects::list_rendered(&state.db, &principal, &models, model, &params).await },
    )
    .await
}

async fn read(
    State(state): State<RestState>,
    principal: Principal,
    Path((type_name, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    query: QueryParams,
) -> AppResult<Response> {
    let models = state.models(&principal).await?;
    models.authorized(&principal, &type_name, &[Action::Read])?;
    let depth = parse_depth(query.get("hydrate"))?;
    cache::json(
        &state.kept,
        &principal,
        (uri.path(), &query, &headers),
        || objects::get(&state.db, &principal, &models, &type_name, &id, depth),
    )
    .await
}

async fn create(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    principal.require(&type_name, Action::Create)?;
    let body = json_body(&headers, body).await?;
    Ok(Json(
        objects::create(&state.db, &principal, &type_name, &body).await?,
    ))
}

async fn replace(
    State(state): State<RestState>,
    principal: Principal,
    Path((type_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    principal.require(&type_name, Action::Update)?;
    let body = json_body(&headers, body).await?;
    Ok(Json(
        objects::update(&state.db, &principal, &type_name, &id, &body, false).await?,
    ))
}

async fn patch(
    State(state): State<RestState>,
    principal: Principal,
    Path((type_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<Value>> {
    principal.require(&type_name, Action::Update)?;
    let body = json_body(&headers, body).await?;
    Ok(Json(
        objects::update(&state.db, &principal, &type_name, &id, &body, true).await?,
    ))
}

/// 200 with a JSON body: the official SDK parses every response as JSON.
async fn remove(
    State(state): State<RestState>,
    principal: Principal,
    Path((type_name, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    objects::delete(&state.db, &principal, &type_name, &id).await?;
    Ok(Json(json!({"code": 200, "message": "Deleted", "id": id})))
}

async fn batch_create(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    query: QueryParams,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    principal.require(&type_name, Action::Create)?;
    let update_existing = query.flag("updateExisting")?;
    let body = json_body(&headers, body).await?;
    let report =
        batch::batch_create(&state.db, &principal, &type_name, &body, update_existing).await?;
    Ok(report_answer(report.is_complete(), report))
}

async fn batch_patch(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    principal.require(&type_name, Action::Update)?;
    let body = json_body(&headers, body).await?;
    let report = batch::batch_patch(&state.db, &principal, &type_name, &body).await?;
    Ok(report_answer(report.is_complete(), report))
}

async fn batch_delete(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    principal.require(&type_name, Action::Delete)?;
    let body = json_body(&headers, body).await?;
    let report = batch::batch_delete(&state.db, &principal, &type_name, &body).await?;
    Ok(report_answer(report.is_complete(), report))
}

/// A batch report: 200 when every item was done, 400 (with the same report) otherwise.
fn report_answer(complete: bool, report: impl serde::Serialize) -> Response {
    let status = if complete {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, Json(report)).into_response()
}

async fn removed(
    State(state): State<RestState>,
    principal: Principal,
    Path(type_name): Path<String>,
    query: QueryParams,
) -> AppResult<Json<Value>> {
    principal.require(&type_name, Action::Read)?;
    principal.require(&type_name, Action::Delete)?;
    let deleted_after = match query.get("deletedAfter").map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            parse_client_date(text)
                .ok_or_else(|| AppError::field("deletedAfter", "Wrong date format"))?,
        ),
    };
    Ok(Json(json!(
        objects::removed(&state.db, &principal, &type_name, deleted_after).await?
    )))
}
