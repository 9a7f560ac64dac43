//! Application state, the router with its middleware, and `serve`, used alike by
//! `main` and by the tests.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::IntoResponse;
use sea_orm::DatabaseConnection;

use crate::db::Db;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use std::sync::Arc;

use crate::auth::keys::KeyStore;
use crate::error::AppError;
use crate::graphql::cache::SchemaCache;
use crate::graphql::http::GraphqlState;
pub use crate::graphql::schema::Options as GraphqlOptions;
use crate::http::{CorsOrigins, DEFAULT_KEPT_BYTES, KeptAnswers, Shared, TrustedProxies};
pub use crate::panel::Options as PanelOptions;
use crate::panel::PanelState;
use crate::quota::{AllowanceSlot, Meter, QuotaOptions};
use crate::rest::RestState;

/// Everything the adapters stand on, assembled once; each adapter gets its part.
#[derive(Clone)]
pub struct AppState {
    shared: Shared,
    /// How often PostgreSQL's table statistics are checked (`analyze`).
    statistics_interval: Duration,
    kept: Arc<KeptAnswers>,
    schemas: Arc<SchemaCache>,
    panel: PanelState,
    media: Option<crate::media::MediaStore>,
    /// How often the files of deleted media are removed.
    media_removal_interval: Duration,
    cors: CorsOrigins,
    trusted_proxies: TrustedProxies,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        keys: KeyStore,
        graphql: GraphqlOptions,
        quota: QuotaOptions,
    ) -> Self {
        let panel = PanelState {
            db: db.clone(),
            keys: keys.clone(),
            plans: quota.plans.clone(),
            options: Arc::new(PanelOptions::default()),
        };
        // Content type writes are refused if GraphQL could not serve the result.
        let quota = Arc::new(Meter::new(db.clone(), quota));
        let shared = Shared::new(Db::new(db), keys, quota, crate::graphql::check_models);
        AppState {
            shared,
            statistics_interval: crate::analyze::DEFAULT_INTERVAL,
            kept: Arc::new(KeptAnswers::new(
                DEFAULT_KEPT_BYTES,
                panel.keys.secret.clone(),
            )),
            schemas: Arc::new(SchemaCache::new(graphql)),
            panel,
            media: None,
            media_removal_interval: Duration::from_secs(30),
            cors: CorsOrigins::default(),
            trusted_proxies: TrustedProxies::default(),
        }
    }

    /// Which origins' pages may call the API (default any).
    pub fn with_cors(mut self, origins: CorsOrigins) -> Self {
        self.cors = origins;
        self
    }

    /// Proxies whose `X-Forwarded-For` names the client (default none).
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = TrustedProxies(Arc::new(proxies));
        self
    }

    /// Where uploaded media files are kept.
    pub fn with_media(mut self, store: crate::media::MediaStore) -> Self {
        self.media = Some(store);
        self
    }

    /// Removes the files of deleted media every `interval` (tests use a short one).
    pub fn with_media_removal_interval(mut self, interval: Duration) -> Self {
        self.media_removal_interval = interval;
        self
    }

    /// The admin panel's public URL and session timeouts.
    pub fn with_panel(mut self, options: PanelOptions) -> Self {
        self.panel.options = Arc::new(options);
        self
    }

    /// `callback` sees every statement the adapters' services run (tests count them).
    pub fn with_metric_callback(mut self, callback: crate::db::MetricCallback) -> Self {
        self.shared.db.set_metric_callback(callback);
        self
    }

    /// Checks PostgreSQL's table statistics every `interval` (tests use a short one).
    pub fn with_statistics_interval(mut self, interval: Duration) -> Self {
        self.statistics_interval = interval;
        self
    }

    /// Keeps rendered answers (REST and GraphQL) up to `bytes` of memory (0: none).
    pub fn with_response_cache(mut self, bytes: u64) -> Self {
        self.kept = Arc::new(KeptAnswers::new(bytes, self.panel.keys.secret.clone()));
        self
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    // The span names the matched route, never the raw URI: `auth_token` lives in the query.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", |p| p.as_str());
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), route, request_id)
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    // The composition root: each adapter brings its routes; none imports another.
    let rest = RestState {
        shared: state.shared.clone(),
        kept: state.kept.clone(),
        media: state.media,
    };
    let graphql = GraphqlState {
        shared: state.shared,
        schemas: state.schemas,
        kept: state.kept,
        persisted: Arc::default(),
        parsed: Arc::default(),
    };
    // CORS on the API routes only, never the panel; preflights are answered by the
    // layer itself, before authentication and quotas.
    use axum::http::Method;
    let rest_methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    crate::rest::router(rest)
        .layer(state.cors.layer(&rest_methods))
        .merge(
            crate::graphql::http::router(graphql)
                .layer(state.cors.layer(&[Method::GET, Method::POST])),
        )
        .merge(crate::panel::router(state.panel))
        .layer(axum::middleware::map_response(json_rejections))
        .layer(axum::middleware::from_fn(allowance_headers))
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(axum::middleware::from_fn_with_state(
            state.trusted_proxies,
            crate::http::resolve_client,
        ))
        .layer(trace)
        .layer(SetSensitiveRequestHeadersLayer::new([
            HeaderName::from_static("x-auth-token"),
            header::AUTHORIZATION,
        ]))
        // A panic in a handler answers 500 in the usual shape; the server keeps serving.
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal("handler panicked".into()).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // Media files say they are immutable; everything else is not to be stored.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Every response to an authenticated request on a plan with a quota tells the client
/// its allowance; admission (in the `Principal` extractor) fills the slot.
async fn allowance_headers(
    mut request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = AllowanceSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(allowance) = slot.get() {
        crate::http::allowance_headers(&allowance, response.headers_mut());
    }
    response
}

/// A path or query holding U+0000 (`%00`) is refused before routing; see `NUL_MESSAGE`.
async fn refuse_nul_in_uri(
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request
        .uri()
        .to_string()
        .to_ascii_lowercase()
        .contains("%00")
    {
        let body = serde_json::json!({"code": 400, "message": crate::content::NUL_MESSAGE});
        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    next.run(request).await
}

/// Rejections made by the framework or a library (a path segment that is not UTF-8, a
/// GraphQL request it cannot read) come as plain text; clients get every error as JSON
/// in the documented `{"code":..,"message":..}` shape.
async fn json_rejections(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    let plain_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.to_str().is_ok_and(|t| t.starts_with("text/plain")));
    if !status.is_client_error() || !plain_text {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Bad Request")
            .to_owned()
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let body = axum::Json(serde_json::json!({"code": status.as_u16(), "message": message}));
    (parts, body).into_response()
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish for up to
/// `grace`, and closes the pool.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let db = state.shared.db.clone();
    // Request counts are flushed every interval, and once more after the last request.
    let (meter_stop, meter_stopped) = tokio::sync::oneshot::channel::<()>();
    let meter = tokio::spawn(state.shared.quota.clone().run(async move {
        let _ = meter_stopped.await;
    }));
    let (statistics_stop, statistics_stopped) = tokio::sync::oneshot::channel::<()>();
    let statistics = tokio::spawn(crate::analyze::run(
        (*db).clone(),
        state.statistics_interval,
        async move {
            let _ = statistics_stopped.await;
        },
    ));
    let (removal_stop, removal_stopped) = tokio::sync::oneshot::channel::<()>();
    let removal = state.media.clone().map(|store| {
        tokio::spawn(crate::media::run_removal(
            (*db).clone(),
            store,
            state.media_removal_interval,
            async move {
                let _ = removal_stopped.await;
            },
        ))
    });
    state.shared.ready().await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let listener = crate::listener::JsonErrorsListener(listener);
    // The panel reads the client's address (sign-in throttling, the audit log).
    let app = router(state).into_make_service_with_connect_info::<crate::listener::ClientAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });
    let mut server = std::pin::pin!(server.into_future());
    let outcome = tokio::select! {
        result = &mut server => result,
        _ = async {
            let _ = stop_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("shutdown grace period over; dropping remaining connections");
            Ok(())
        }
    };
    let _ = meter_stop.send(());
    let _ = meter.await;
    let _ = statistics_stop.send(());
    let _ = statistics.await;
    let _ = removal_stop.send(());
    if let Some(removal) = removal {
        let _ = removal.await;
    }
    if let Err(err) = db.close_by_ref().await {
        tracing::warn!(error = %err, "closing the database pool failed");
    }
    outcome
}
