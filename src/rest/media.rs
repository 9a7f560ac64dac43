//! Flotiq's media routes: `POST /api/media` (a multipart upload, streamed to the store)
//! and the delivery of files by id, `/image/{W}x{H}/{id}.{ext}` and
//! `/image/{W}x{H}/{id}/{anyName}.{ext}`, without a key as on Flotiq.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::RestState;
use crate::auth::{Action, Principal};
use crate::content::internal::MEDIA;
use crate::error::{AppError, AppResult};
use crate::media::{
    self, HEAD_BYTES, MAX_UPLOAD_BYTES, MediaStore, Shape, Source, Trim, Upload, Wanted,
};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// The largest request body an upload may have: past Flotiq's 10 MB the file is still
/// read to the end (to say how large it was), up to this.
const MAX_UPLOAD_REQUEST: usize = 64 * 1024 * 1024;

pub fn router() -> Router<RestState> {
    Router::new()
        .route(
            "/api/media",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_REQUEST)),
        )
        .route("/image/{size}/{file}", get(deliver))
        .route("/image/{size}/{id}/{name}", get(deliver_named))
        .route(
            "/image/{size}/{id}/{name}/variant/{variant}",
            get(deliver_variant),
        )
        .route(
            "/image/{size}/{id}/{name}/transform/trim/{values}",
            get(deliver_trimmed),
        )
}

fn store(state: &RestState) -> AppResult<&MediaStore> {
    state
        .media
        .as_ref()
        .ok_or_else(|| AppError::Internal("no media store configured".into()))
}

async fn upload(
    State(state): State<RestState>,
    principal: Principal,
    request: Request,
) -> AppResult<Json<serde_json::Value>> {
    // Refused before a byte is stored.
    principal.require(MEDIA, Action::Create)?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(AppError::UnsupportedMediaType);
    }
    let store = store(&state)?.clone();
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("The multipart body cannot be read".into()))?;
    let mut file = None;
    let mut declared_type = None;
    let malformed = |err: axum::extract::multipart::MultipartError| {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(format!(
                "An upload may be at most {} MB",
                MAX_UPLOAD_REQUEST / (1024 * 1024)
            ))
        } else {
            AppError::BadRequest("The multipart body cannot be read".into())
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") if file.is_none() => {
                let file_name = field.file_name().unwrap_or("file").to_owned();
                let mut incoming = store.incoming()?;
                let (mut head, mut size) = (Vec::new(), 0u64);
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    if head.len() < HEAD_BYTES {
                        let take = (HEAD_BYTES - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    // Past the limit the rest is only counted.
                    if size < MAX_UPLOAD_BYTES {
                        let room = (MAX_UPLOAD_BYTES - size) as usize;
                        incoming.write(&chunk[..room.min(chunk.len())])?;
                    }
                    size += chunk.len() as u64;
                }
                file = Some(Upload {
                    file_name,
                    declared_type: None,
                    head,
                    size,
                    incoming,
                });
            }
            Some("type") => declared_type = Some(field.text().await.map_err(malformed)?),
            // `save` (Flotiq: every upload is saved) and anything else.
            _ => while field.chunk().await.map_err(malformed)?.is_some() {},
        }
    }
    let mut file =
        file.ok_or_else(|| AppError::field("file", "This value should not be blank."))?;
    file.declared_type = declared_type.map(|t| t.trim().to_owned());
    let object = media::upload(&state.db, &store, &principal, file).await?;
    Ok(Json(object))
}

/// `{W}x{H}`, each a number (0: free).
fn parse_size(size: &str) -> AppResult<(u32, u32)> {
    let bad = || AppError::NotFound;
    let (w, h) = size.split_once('x').ok_or_else(bad)?;
    let number = |text: &str| {
        (!text.is_empty() && text.len() <= 6 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    Ok((number(w).ok_or_else(bad)?, number(h).ok_or_else(bad)?))
}

/// `?transform={"trim":{…}}`, on any delivery URL.
fn shape_of(request: &Request) -> AppResult<Shape> {
    let query = request.uri().query().unwrap_or_default();
    match form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "transform") {
        None => Ok(Shape::Whole),
        Some((_, text)) => Trim::from_transform_query(&text).map(Shape::Trim),
    }
}

async fn deliver(
    State(state): State<RestState>,
    Path((size, file)): Path<(String, String)>,
    request: Request,
) -> AppResult<Response> {
    let (id, extension) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    send(&state, &size, id, extension, shape_of(&request)?, request).await
}

async fn deliver_named(
    State(state): State<RestState>,
    Path((size, id, name)): Path<(String, String, String)>,
    request: Request,
) -> AppResult<Response> {
    let (_, extension) = name.rsplit_once('.').ok_or(AppError::NotFound)?;
    send(&state, &size, &id, extension, shape_of(&request)?, request).await
}

async fn deliver_variant(
    State(state): State<RestState>,
    Path((size, id, name, variant)): Path<(String, String, String, String)>,
    request: Request,
) -> AppResult<Response> {
    let (_, extension) = name.rsplit_once('.').ok_or(AppError::NotFound)?;
    send(
        &state,
        &size,
        &id,
        extension,
        Shape::Variant(variant),
        request,
    )
    .await
}

async fn deliver_trimmed(
    State(state): State<RestState>,
    Path((size, id, name, values)): Path<(String, String, String, String)>,
    request: Request,
) -> AppResult<Response> {
    let (_, extension) = name.rsplit_once('.').ok_or(AppError::NotFound)?;
    let shape = Shape::Trim(Trim::from_path(&values)?);
    send(&state, &size, &id, extension, shape, request).await
}

async fn send(
    state: &RestState,
    size: &str,
    id: &str,
    extension: &str,
    shape: Shape,
    request: Request,
) -> AppResult<Response> {
    let (width, height) = parse_size(size)?;
    let store = store(state)?;
    let in_query = request
        .uri()
        .query()
        .is_some_and(|q| q.contains("transform"));
    let wanted = Wanted {
        id,
        extension,
        width,
        height,
        shape,
    };
    let delivery = media::deliver(&state.db, store, wanted).await?;
    // Weak comparison, as `If-None-Match` asks.
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == delivery.etag)
        });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match delivery.source {
            Source::Stored(key) => stored_file(store, &key, request).await?,
            Source::Bytes(bytes) => Body::from(bytes).into_response(),
        }
    };
    // A refusal (a range past the end, a file gone) is not the file: no file headers.
    let status = response.status();
    if !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
        return Ok(response);
    }
    let out = response.headers_mut();
    if !unchanged {
        let mime = HeaderValue::from_str(&delivery.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        out.insert(header::CONTENT_TYPE, mime);
    }
    // The URL names one file that never changes, except a named variant's, whose trim
    // the object may change, and one whose transform is in the query, which caches that
    // ignore queries would confuse with the plain URL: those are checked again each time
    // (the tag names the bytes, so the check is a 304).
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if delivery.changeable || in_query {
            "public, no-cache"
        } else {
            "public, max-age=31536000, immutable"
        }),
    );
    if let Ok(etag) = HeaderValue::from_str(&delivery.etag) {
        out.insert(header::ETAG, etag);
    }
    // A file opened from our origin (an SVG, a PDF, a text that looks like HTML) runs no
    // script here; `<img>` and `<video>` ignore it.
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// A stored file with `Range` support (audio and video seek): from the folder as a
/// file, from a bucket as a stream of the asked range.
async fn stored_file(store: &MediaStore, key: &str, request: Request) -> AppResult<Response> {
    if let Some(path) = store.local_path(key) {
        return Ok(ServeFile::new(path)
            .oneshot(request)
            .await
            .map_err(|err| AppError::Internal(format!("serving a media file: {err}")))?
            .map(Body::new));
    }
    let bucket = store
        .bucket()
        .ok_or_else(|| AppError::Internal("no media store".into()))?;
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(media::bucket::parse_range);
    let asked = range.is_some();
    let part = match bucket.open(key, range).await? {
        Ok(part) => part,
        Err(size) => {
            let whole = format!("bytes */{size}");
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                    (header::CONTENT_RANGE, whole),
                ],
            )
                .into_response());
        }
    };
    let status = if asked {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = (status, Body::from_stream(part.body)).into_response();
    let out = response.headers_mut();
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(part.end - part.start),
    );
    if asked {
        let range = format!("bytes {}-{}/{}", part.start, part.end - 1, part.size);
        if let Ok(value) = HeaderValue::from_str(&range) {
            out.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}
