//! The REST layer: Flotiq's paths, translated into service calls. Handlers parse and
//! answer; every decision is made by the services.

mod auth_context;
mod cache;
mod content_types;
mod media;
mod objects;
mod search;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::error::AppError;
use crate::http::{KeptAnswers, Shared};

/// What REST handlers use: the shared services and the kept answers.
#[derive(Clone)]
pub struct RestState {
    pub shared: Shared,
    pub kept: Arc<KeptAnswers>,
    /// Where media files are kept (`None`: no media routes can serve).
    pub media: Option<crate::media::MediaStore>,
}

impl std::ops::Deref for RestState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl FromRef<RestState> for Shared {
    fn from_ref(state: &RestState) -> Shared {
        state.shared.clone()
    }
}

pub fn router(state: RestState) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(auth_context::router())
        .merge(content_types::router())
        .merge(objects::router())
        .merge(search::router())
        .merge(media::router())
        .fallback(|| async { AppError::NotFound.into_response() })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed.into_response() })
        .with_state(state)
}
