//! Request parsing shared by every HTTP adapter (REST and GraphQL): the caller's key,
//! repeated query parameters, and JSON bodies with Flotiq's 400/413/415 answers.

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde_json::Value;

use super::Shared;
use crate::auth::Principal;
use crate::content::objects::MAX_LIST_LIMIT;
use crate::content::{NUL_MESSAGE, contains_nul};
use crate::error::{AppError, AppResult};

/// The largest request body read at all (a batch holds up to 100 objects of 1 MB).
pub const MAX_BODY_BYTES: usize = 101 * 1024 * 1024;

/// Query parameters in order, repeated keys kept (`ids[]=a&ids[]=b`), `+` as space.
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn from_parts(parts: &Parts) -> Self {
        let query = parts.uri.query().unwrap_or_default();
        QueryParams(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `name[]` (and of plain `name`).
    pub fn all(&self, name: &str) -> Vec<String> {
        let bracketed = format!("{name}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == bracketed || k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A positive integer parameter, or 400 naming it.
    pub fn number(&self, name: &str, default: u64) -> AppResult<u64> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .map_err(|_| AppError::field(name, "This value should be a positive integer.")),
        }
    }

    /// `page` (from 1) and `limit` (1 to 1000, default 20) of an object list or search:
    /// out of range is a 400 naming the parameter, never a silent clamp.
    pub fn paging(&self) -> AppResult<(u64, u64)> {
        let page = self.number("page", 1)?;
        if page < 1 {
            return Err(AppError::field("page", "This value should be 1 or more."));
        }
        let limit = self.number("limit", 20)?;
        // The first row must stay addressable (SQL offsets are signed 64-bit).
        if page
            .checked_mul(limit)
            .is_none_or(|end| end > i64::MAX as u64)
        {
            return Err(AppError::field("page", "This value is too large."));
        }
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(AppError::field(
                "limit",
                format!("This value should be between 1 and {MAX_LIST_LIMIT}."),
            ));
        }
        Ok((page, limit))
    }

    pub fn flag(&self, name: &str) -> AppResult<bool> {
        match self.get(name).map(str::trim) {
            None | Some("") | Some("0") | Some("false") => Ok(false),
            Some("1") | Some("true") => Ok(true),
            Some(_) => Err(AppError::field(name, "This value should be 0 or 1.")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams::from_parts(parts))
    }
}

/// The key presented with a request: `X-AUTH-TOKEN` (any case) or `?auth_token=`.
/// Several different values are refused rather than guessed between.
fn presented_key(parts: &Parts) -> AppResult<String> {
    let mut presented: Vec<String> = Vec::new();
    for value in parts.headers.get_all("x-auth-token") {
        presented.push(
            value
                .to_str()
                .map_err(|_| AppError::Unauthorized)?
                .trim()
                .to_owned(),
        );
    }
    presented.extend(
        QueryParams::from_parts(parts)
            .0
            .into_iter()
            .filter(|(k, _)| k == "auth_token")
            .map(|(_, v)| v),
    );
    let first = presented.first().ok_or(AppError::Unauthorized)?;
    if presented.iter().any(|p| p != first) {
        return Err(AppError::Unauthorized);
    }
    Ok(first.clone())
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Shared: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Shared::from_ref(state);
        let principal = authenticate(parts, &state).await?;
        // Counted here once per request (the GraphQL endpoint counts per operation).
        Admission::of(parts).admit(&state, &principal, 1).await?;
        Ok(principal)
    }
}

/// What admission reads of a request, taken before its body is read.
pub struct Admission {
    slot: Option<crate::quota::AllowanceSlot>,
    origin: Option<String>,
    client: Option<std::net::IpAddr>,
}

impl Admission {
    pub fn of(parts: &Parts) -> Self {
        Admission {
            slot: parts
                .extensions
                .get::<crate::quota::AllowanceSlot>()
                .cloned(),
            origin: parts
                .headers
                .get(header::ORIGIN)
                .map(|v| v.to_str().unwrap_or("invalid").to_owned()),
            client: parts.extensions.get::<super::ClientIp>().map(|ip| ip.0),
        }
    }

    /// Counts `requests` against the key's account, then refuses a user-defined key
    /// used from an origin or a client network it does not allow (403, and counted, as
    /// every refused request of a valid key is).
    pub async fn admit(
        &self,
        state: &Shared,
        principal: &Principal,
        requests: u64,
    ) -> AppResult<()> {
        state
            .quota
            .admit(
                principal.account_id(),
                principal.key_id(),
                requests,
                self.slot.as_ref(),
            )
            .await?;
        principal.require_access(self.origin.as_deref(), self.client)
    }
}

/// The key's principal. A request that fails here is answered 401 and counts against
/// no account, so nobody can spend another account's quota with bad keys.
pub async fn authenticate(parts: &Parts, state: &Shared) -> AppResult<Principal> {
    let key = presented_key(parts)?;
    state.principals.authenticate(&state.keys, &key).await
}

/// Reads a JSON body: 415 unless it is declared as JSON, 413 past the size limit, 400
/// for malformed JSON.
pub async fn json_body(headers: &HeaderMap, body: Body) -> AppResult<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(AppError::UnsupportedMediaType);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::TooLarge("Request body size limit exceeded".into()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| AppError::field("body", "Malformed json - Syntax error"))?;
    if contains_nul(&value) {
        return Err(AppError::field("body", NUL_MESSAGE));
    }
    Ok(value)
}
