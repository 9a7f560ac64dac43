//! Signing in and out. The login form repeats a token from a cookie of its own, so a
//! page elsewhere cannot sign a browser in to an account of its choosing; failures are
//! throttled per email and per address, and the answer never says whether the email
//! belongs to an admin.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::form::Form;
use super::session::{
    LOGIN_COOKIE, SESSION_COOKIE, SignedIn, client_address, cookie_value, same_token, set_cookie,
};
use super::{PanelState, error_page, forbidden, views};
use crate::admins::{self, SignInRefusal, sessions};
use crate::audit::{self, Action};

pub async fn form(State(state): State<PanelState>, parts: Parts) -> Response {
    if let Some(cookie) = cookie_value(&parts.headers, SESSION_COOKIE)
        && let Ok(Some(_)) = sessions::find(&state.db, &cookie, state.options.timeouts).await
    {
        return Redirect::to("/panel/").into_response();
    }
    login_page(&state, StatusCode::OK, None, "")
}

fn login_page(
    state: &PanelState,
    status: StatusCode,
    error: Option<&str>,
    email: &str,
) -> Response {
    let token = sessions::random_token();
    let mut headers = HeaderMap::new();
    if let Ok(value) = set_cookie(state, LOGIN_COOKIE, Some(&token)).parse() {
        headers.insert(header::SET_COOKIE, value);
    }
    let page = views::login(&token, error, email);
    (status, headers, Html(page.into_string())).into_response()
}

pub async fn submit(State(state): State<PanelState>, parts: Parts, form: Form) -> Response {
    let expected = cookie_value(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(form.get("csrf"), &expected) {
        return forbidden();
    }
    let email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let client = client_address(&parts);
    match admins::sign_in(&state.db, email, password, &client).await {
        Ok(Ok((_, opened))) => {
            // A cookie the browser brought along (another session) ends with this sign-in.
            if let Some(previous) = cookie_value(&parts.headers, SESSION_COOKIE)
                && let Ok(Some(session)) =
                    sessions::find(&state.db, &previous, state.options.timeouts).await
            {
                let _ = sessions::end(&state.db, &session).await;
            }
            if let Err(err) = sessions::prune(&state.db, state.options.timeouts).await {
                tracing::warn!(error = %err, "removing expired panel sessions failed");
            }
            let mut headers = HeaderMap::new();
            for cookie in [
                set_cookie(&state, SESSION_COOKIE, Some(&opened.cookie)),
                set_cookie(&state, LOGIN_COOKIE, None),
            ] {
                if let Ok(value) = cookie.parse() {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            (headers, Redirect::to("/panel/")).into_response()
        }
        Ok(Err(SignInRefusal::Invalid)) => login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("The email or the password is not right."),
            email,
        ),
        Ok(Err(SignInRefusal::Throttled(seconds))) => {
            let message = format!(
                "Too many failed sign-ins. Wait {seconds} second{} and try again.",
                if seconds == 1 { "" } else { "s" }
            );
            let mut response =
                login_page(&state, StatusCode::TOO_MANY_REQUESTS, Some(&message), email);
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(err) => error_page(&err),
    }
}

pub async fn sign_out(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    form: Form,
) -> Response {
    if !signed_in.csrf_ok(&form) {
        return forbidden();
    }
    let ended = async {
        sessions::end(&state.db, &signed_in.session).await?;
        let email = signed_in.session.admin.email.clone();
        audit::record(&state.db, None, &signed_in.actor(), Action::SignOut, &email).await?;
        Ok::<_, crate::error::AppError>(())
    };
    if let Err(err) = ended.await {
        return error_page(&err);
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = set_cookie(&state, SESSION_COOKIE, None).parse() {
        headers.insert(header::SET_COOKIE, value);
    }
    (headers, Redirect::to("/panel/login")).into_response()
}
