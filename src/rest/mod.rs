//! The REST layer: Flotiq's paths, translated into service calls. Handlers parse and
//! answer; every decision is made by the services.

pub mod cache;
mod content_types;
mod objects;
mod search;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(content_types::router())
        .merge(objects::router())
        .merge(search::router())
        .fallback(|| async { AppError::NotFound.into_response() })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed.into_response() })
}
