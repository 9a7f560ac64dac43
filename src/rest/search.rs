//! `GET /api/v1/search`: full-text search across the readable types.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::extract::QueryParams;
use crate::app::AppState;
use crate::auth::Principal;
use crate::content::hydrate::parse_depth;
use crate::content::objects::MAX_LIST_LIMIT;
use crate::content::search::{SearchParams, parse_field, search};
use crate::error::{AppError, AppResult};

const UNSUPPORTED: &[&str] = &[
    "post_filters",
    "aggregate_by_numeric",
    "geo_filters",
    "random_seed",
    "query_mode",
    "indices_boost",
];

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(handle))
}

async fn handle(
    State(state): State<AppState>,
    principal: Principal,
    query: QueryParams,
) -> AppResult<Json<Value>> {
    // Parameters of Flotiq's search this server does not implement are refused, not ignored.
    for (name, _) in &query.0 {
        let base = name.split('[').next().unwrap_or_default();
        if UNSUPPORTED.contains(&base) {
            return Err(AppError::field(
                base,
                "This parameter is not supported by this server.",
            ));
        }
    }
    let page = query.number("page", 1)?;
    if page < 1 {
        return Err(AppError::field("page", "This value should be 1 or more."));
    }
    let limit = query.number("limit", 20)?;
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("This value should be between 1 and {MAX_LIST_LIMIT}."),
        ));
    }
    let descending = match query
        .get("order_direction")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(AppError::field("order_direction", "Must be asc or desc")),
    };
    // `filters[prop]=value` (deepObject style).
    let filters = query
        .0
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("filters[")?.strip_suffix(']')?.to_owned(),
                v.clone(),
            ))
        })
        .collect();
    let params = SearchParams {
        q: query.get("q").unwrap_or_default().to_owned(),
        content_types: query.all("content_type"),
        page,
        limit,
        offset: (page - 1) * limit,
        order_by: query
            .get("order_by")
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
        descending,
        fields: query
            .all("fields")
            .iter()
            .map(|f| parse_field(f))
            .collect::<AppResult<_>>()?,
        filters,
        hydrate: parse_depth(query.get("hydrate"))?,
        aggregate_by: query.all("aggregate_by"),
    };
    Ok(Json(search(&state.db, &principal, &params).await?))
}
