//! The signed-in admin of a request: the session cookie (`HttpOnly`, `SameSite=Strict`,
//! scoped to `/panel`, `Secure` behind https) looked up in the database on every
//! request, so that a session ended on one instance is ended on all. API keys are never
//! read here.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use super::PanelState;
use super::form::Form;
use crate::admins::sessions::{self, Session};
use crate::audit::Actor;

pub const SESSION_COOKIE: &str = "cg_session";
/// Before sign-in: the token the login form must repeat (double submit).
pub const LOGIN_COOKIE: &str = "cg_login";

pub struct SignedIn {
    pub session: Session,
    pub client: String,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor::admin(&self.session.admin.email, &self.client)
    }

    /// Whether the form carries this session's CSRF token.
    pub fn csrf_ok(&self, form: &Form) -> bool {
        same_token(form.get("csrf"), &self.session.csrf)
    }
}

pub fn same_token(sent: Option<&str>, expected: &str) -> bool {
    sent.is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(expected.as_bytes())))
}

/// The client's address as the socket sees it (the audit log and sign-in throttling).
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<crate::http::ClientIp>()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.0.to_string())
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value for the panel; `None` removes the cookie.
pub fn set_cookie(state: &PanelState, name: &str, value: Option<&str>) -> String {
    let mut cookie = Cookie::build((name.to_owned(), value.unwrap_or_default().to_owned()))
        .path("/panel")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.options.public_url.starts_with("https://"));
    if value.is_none() {
        cookie = cookie.max_age(cookie::time::Duration::ZERO);
    }
    cookie.build().to_string()
}

impl FromRequestParts<PanelState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PanelState,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/panel/login").into_response();
        let Some(cookie) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match sessions::find(&state.db, &cookie, state.options.timeouts).await {
            Ok(Some(session)) => Ok(SignedIn {
                session,
                client: client_address(parts),
            }),
            Ok(None) => Err(to_login()),
            Err(err) => Err(super::error_page(&err)),
        }
    }
}
