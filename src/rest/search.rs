//! `GET /api/v1/search`: full-text search across the readable types.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;

use super::{RestState, cache};
use crate::auth::Principal;
use crate::content::filter::parse_direction;
use crate::content::hydrate::parse_depth;
use crate::content::search::{SearchParams, parse_field, search};
use crate::error::{AppError, AppResult};
use crate::http::QueryParams;

const UNSUPPORTED: &[&str] = &[
    "post_filters",
    "aggregate_by_numeric",
    "geo_filters",
    "random_seed",
    "query_mode",
    "indices_boost",
];

pub fn router() -> Router<RestState> {
    Router::new().route("/api/v1/search", get(handle))
}

async fn handle(
    State(state): State<RestState>,
    principal: Principal,
    uri: Uri,
    headers: axum::http::HeaderMap,
    query: QueryParams,
) -> AppResult<Response> {
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
    let (page, limit) = query.paging()?;
    let descending = parse_direction(query.get("order_direction"))?;
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
    let models = state.models(&principal).await?;
    cache::json(
        &state.kept,
        &principal,
        (uri.path(), &query, &headers),
        || search(&state.db, &principal, &models, &params),
    )
    .await
}
