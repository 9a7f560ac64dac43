//! A submitted form, as ordered pairs (the rules of a key repeat their fields, which a
//! struct cannot hold). Only `application/x-www-form-urlencoded` from this origin is
//! read: the CSRF token is the defence, and these checks are a second one.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The largest form the panel reads (a key with hundreds of rules fits many times).
const MAX_FORM_BYTES: usize = 256 * 1024;

pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn refusal(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(super::views::error(title, message).into_string()),
    )
        .into_response()
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site == "cross-site");
        if cross_site {
            return Err(super::forbidden());
        }
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "The panel reads forms sent by its own pages only.",
            ));
        }
        let body = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Payload Too Large",
                    "The form is too large.",
                )
            })?;
        Ok(Form::parse(&body))
    }
}
