//! CORS for the API routes (REST, search, media delivery, both GraphQL endpoints; never
//! the panel): which origins may call them (`--cors-origins`), what a preflight allows,
//! and which answer headers a page may read. Keys travel in headers or the query, never
//! in cookies, so credentials are never allowed and `*` is a safe default.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::access::OriginPattern;

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    Any,
    Only(Vec<OriginPattern>),
}

impl CorsOrigins {
    /// `*`, or a comma-separated list of origins and `https://*.example.com` patterns.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() == "*" {
            return Ok(CorsOrigins::Any);
        }
        let patterns = text
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(OriginPattern::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if patterns.is_empty() {
            return Err("--cors-origins needs `*` or at least one origin".into());
        }
        Ok(CorsOrigins::Only(patterns))
    }

    /// The layer for a group of routes that answer `methods`.
    pub fn layer(&self, methods: &[Method]) -> CorsLayer {
        let origin = match self {
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::Only(patterns) => {
                let patterns = patterns.clone();
                AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                    origin
                        .to_str()
                        .is_ok_and(|o| patterns.iter().any(|p| p.matches(o)))
                })
            }
        };
        let name = HeaderName::from_static;
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods(methods.to_vec())
            .allow_headers([name("x-auth-token"), name("content-type"), name("x-mode")])
            .expose_headers([
                name("x-ratelimit-limit"),
                name("x-ratelimit-remaining"),
                name("x-ratelimit-reset"),
                name("retry-after"),
                name("etag"),
                name("x-request-id"),
            ])
            .max_age(PREFLIGHT_MAX_AGE)
    }
}
