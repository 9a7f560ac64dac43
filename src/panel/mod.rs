//! The admin panel: server-rendered pages under `/panel/` for the operators of this
//! server (admins), signed in with a session cookie. It manages keys and plans through
//! the same services as the command line; it never reads an API key, and the API
//! routes never read its cookie. Every page is sent with a strict Content-Security-Policy
//! (scripts and styles from this binary only, no inline code) and may not be framed.

mod assets;
mod form;
mod home;
mod keys;
mod keys_form;
mod keys_page;
mod login;
mod session;
mod usage;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, any, get, post};
use sea_orm::DatabaseConnection;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::admins::sessions::Timeouts;
use crate::auth::keys::KeyStore;
use crate::error::AppError;
use crate::quota::Plans;

/// The panel's settings from the configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where clients reach the server (QR codes' `apiUrl`; `Secure` cookies when https).
    pub public_url: String,
    pub timeouts: Timeouts,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            public_url: "http://127.0.0.1:8080".into(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Clone)]
pub struct PanelState {
    pub db: DatabaseConnection,
    pub keys: KeyStore,
    pub plans: Arc<Plans>,
    pub options: Arc<Options>,
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

pub fn router(state: PanelState) -> Router {
    let account = "/panel/accounts/{account}";
    // Every route answers other methods with a page too (not the API's JSON).
    let only = |methods: MethodRouter<PanelState>| methods.fallback(method_not_allowed);
    let panel = Router::new()
        .route("/panel", only(get(|| async { Redirect::to("/panel/") })))
        .route("/panel/", only(get(home::page)))
        .route("/panel/login", only(get(login::form).post(login::submit)))
        .route("/panel/logout", only(post(login::sign_out)))
        .route("/panel/assets/{file}", only(get(assets::serve)))
        .route(
            &format!("{account}/keys"),
            only(get(keys::page).post(keys::create)),
        )
        .route(&format!("{account}/keys/{{id}}"), only(post(keys::save)))
        .route(
            &format!("{account}/keys/{{id}}/regenerate"),
            only(post(keys::regenerate)),
        )
        .route(
            &format!("{account}/keys/{{id}}/delete"),
            only(post(keys::delete)),
        )
        .route(
            &format!("{account}/keys/{{id}}/qr.svg"),
            only(get(keys::qr)),
        )
        .route(&format!("{account}/usage"), only(get(usage::page)))
        .route(&format!("{account}/plan"), only(post(usage::set_plan)))
        .route(&format!("{account}/types"), only(get(usage::types)))
        .route("/panel/{*rest}", any(|| async { not_found() }))
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    // A newcomer opening the server's address lands on the panel.
    Router::new()
        .route("/", get(|| async { Redirect::to("/panel/") }))
        .merge(panel)
}

fn not_found() -> Response {
    error_page(&AppError::NotFound)
}

async fn method_not_allowed() -> Response {
    error_page(&AppError::MethodNotAllowed)
}

/// An error as a page: the status of the error table, a fixed message, and for internal
/// failures nothing but a pointer to the log.
fn error_page(err: &AppError) -> Response {
    let status = crate::http::status_of(err);
    if status.is_server_error() {
        tracing::error!(error = %err, "panel request failed");
    }
    let message = match err {
        AppError::NotFound => "There is nothing here, or you may not manage it.".to_owned(),
        AppError::Forbidden => "This request was refused.".to_owned(),
        _ if status.is_server_error() => {
            "Something went wrong on the server; the log has the details.".to_owned()
        }
        other => views::messages(other).join(" "),
    };
    let title = status.canonical_reason().unwrap_or("Error");
    (status, Html(views::error(title, &message).into_string())).into_response()
}

/// A state-changing request without the session's CSRF token changes nothing.
fn forbidden() -> Response {
    let page = views::error(
        "Forbidden",
        "The form was stale or did not come from this panel; reload the page and try again.",
    );
    (StatusCode::FORBIDDEN, Html(page.into_string())).into_response()
}

/// The header of a signed-in page.
fn nav(
    signed_in: &session::SignedIn,
    account: Option<&str>,
    section: views::Section,
) -> views::Nav {
    views::Nav {
        email: signed_in.session.admin.email.clone(),
        csrf: signed_in.session.csrf.clone(),
        account: account.map(str::to_owned),
        section,
    }
}

/// The account named in the path, if the signed-in admin may manage it.
async fn managed(
    state: &PanelState,
    signed_in: &session::SignedIn,
    name: &str,
) -> Result<entity::account::Model, Response> {
    crate::admins::managed_account(&state.db, &signed_in.session.admin, name)
        .await
        .map_err(|err| error_page(&err))
}

/// The account a form was posted to, if the form carries the session's token and the
/// admin manages the account.
async fn posted_to(
    state: &PanelState,
    signed_in: &session::SignedIn,
    name: &str,
    form: &form::Form,
) -> Result<entity::account::Model, Response> {
    if !signed_in.csrf_ok(form) {
        return Err(forbidden());
    }
    managed(state, signed_in, name).await
}

fn html(markup: maud::Markup) -> Response {
    Html(markup.into_string()).into_response()
}
