//! The media library: an upload becomes a `_media` object whose file is in the store,
//! and files are delivered by id, resized on demand and kept resized. The file is
//! stored before its object is written, so after any crash an object always has its
//! file (a file without an object may be left, for `media gc`).

pub mod bucket;
mod deliver;
pub mod gc;
mod import;
mod removal;
pub mod resize;
pub mod sniff;
pub mod store;
pub mod trim;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub use deliver::{Delivery, MAX_KEPT_SIZES, Shape, Source, Wanted, deliver};
pub use import::import;
pub use removal::{remove_deleted, run_removal};
pub use store::{Incoming, MediaStore};
pub use trim::{Area, Trim};

use crate::auth::{Action, Principal};
use crate::content::internal::MEDIA;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};

/// Flotiq's limit for one file.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// The longest file name kept.
pub const MAX_FILE_NAME: usize = 255;
/// How long a resize (or an upload's decoding) waits for its turn before the request is
/// told to come back.
const RESIZE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Bytes of an upload kept in memory to decide its type.
pub const HEAD_BYTES: usize = 8192;

/// A received upload: its first bytes, its size, and the file holding (at most
/// `MAX_UPLOAD_BYTES` of) it.
pub struct Upload {
    pub file_name: String,
    pub declared_type: Option<String>,
    pub head: Vec<u8>,
    pub size: u64,
    pub incoming: Incoming,
}

pub(super) fn file_errors(messages: Vec<String>) -> AppError {
    let mut errors = FieldErrors::new();
    errors.insert("file".into(), messages);
    AppError::Validation(errors)
}

pub(crate) fn blocking_failed(err: tokio::task::JoinError) -> AppError {
    AppError::Internal(format!("media work stopped: {err}"))
}

/// Stores an upload and creates its `_media` object (create on `_media` required).
pub async fn upload(
    db: &DatabaseConnection,
    store: &MediaStore,
    principal: &Principal,
    upload: Upload,
) -> AppResult<Value> {
    principal.require(MEDIA, Action::Create)?;
    match upload.declared_type.as_deref() {
        Some("image" | "file") => {}
        None => return Err(AppError::field("type", "This value should not be blank.")),
        Some(_) => {
            return Err(AppError::field(
                "type",
                "The value you selected is not a valid choice.",
            ));
        }
    }
    if upload.size == 0 {
        return Err(file_errors(vec!["An empty file is not allowed.".into()]));
    }
    if upload.file_name.chars().count() > MAX_FILE_NAME {
        return Err(file_errors(vec![format!(
            "The file name is too long. It should have {MAX_FILE_NAME} characters or less."
        )]));
    }
    let whole = upload.size as usize <= upload.head.len();
    let mut mime = sniff::mime_of(&upload.head, whole);
    let path = upload.incoming.path().to_owned();
    if mime == "text/plain" && !whole && upload.size <= MAX_UPLOAD_BYTES {
        // JSON is told from text by reading all of it.
        let path = path.clone();
        mime = tokio::task::spawn_blocking(move || {
            std::fs::read(&path).map(|bytes| sniff::mime_of(&bytes, true))
        })
        .await
        .map_err(blocking_failed)??;
    }
    let mut errors = Vec::new();
    if !sniff::is_allowed(&mime) {
        errors.push(format!(
            "The mime type of the file is invalid (\"{mime}\"). Allowed mime types are {}.",
            sniff::ALLOWED.join(", ")
        ));
    }
    if upload.size > MAX_UPLOAD_BYTES {
        errors.push(format!(
            "The file is too large ({:.2} MB). Allowed maximum size is {} MB.",
            upload.size as f64 / (1024.0 * 1024.0),
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ));
    }
    if !errors.is_empty() {
        return Err(file_errors(errors));
    }
    let (width, height) = if sniff::is_raster(&mime) {
        // Decoding holds the whole image in memory: it takes a resize's turn.
        let _permit = turn(store).await?;
        tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            resize::decode(&bytes).map(|image| (image.width(), image.height()))
        })
        .await
        .map_err(blocking_failed)?
        .map_err(|message| file_errors(vec![message]))?
    } else {
        (0, 0)
    };
    let id = format!("{MEDIA}-{}", uuid::Uuid::new_v4().simple());
    let extension = sniff::extension(&upload.file_name, &mime);
    store
        .keep(upload.incoming, &store::original(&id, &extension))
        .await?;
    let body = media_body(
        &id,
        &upload.file_name,
        &mime,
        upload.size,
        (width, height),
        &extension,
    );
    let created = crate::content::objects::create_uploaded(db, principal, &body).await;
    if created.is_err() {
        // No object points at the file: it goes at once.
        let _ = store.remove(&id, &extension).await;
    }
    created
}

/// The `_media` object of a stored file: the fields that describe the file are ours,
/// the others start empty.
pub(super) fn media_body(
    id: &str,
    file_name: &str,
    mime: &str,
    size: u64,
    (width, height): (u32, u32),
    extension: &str,
) -> Value {
    let kind = if mime.starts_with("image/") {
        "image"
    } else {
        "file"
    };
    json!({
        "id": id,
        "fileName": file_name,
        "mimeType": mime,
        "size": size,
        "width": width,
        "height": height,
        "url": format!("/image/0x0/{id}.{extension}"),
        "externalId": "",
        "source": "disk",
        "extension": extension,
        "type": kind,
        "tags": [],
        "alt": "",
        "title": "",
        "variants": [],
    })
}

/// `SELECT object_id, data{extra} FROM content_objects WHERE content_type = '_media'`,
/// the start of every media query (PostgreSQL's JSON column read as text).
pub(crate) fn select_media(db: &DatabaseConnection, extra: &str) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    let data = if sql.is_postgres() {
        "data::text"
    } else {
        "data"
    };
    sql.push(&format!(
        "SELECT object_id, {data} AS data{extra} FROM content_objects WHERE content_type = "
    ))
    .bind(MEDIA);
    sql
}

/// The `extension` in a stored `_media` object's data text.
pub(crate) fn extension_in(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|d| d["extension"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An extension that names a file in its folder and nothing else.
pub(crate) fn is_plain_extension(extension: &str) -> bool {
    !extension.contains(['/', '\\', '.'])
}

/// A turn to decode an image: a bound on them at once (each holds a decoded image and a
/// core), and a bound on the wait, so a queue of costly requests answers 429 instead of
/// holding everyone's connections.
pub(super) async fn turn(store: &MediaStore) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
    let waiting = Arc::clone(store.resizing()).acquire_owned();
    match tokio::time::timeout(RESIZE_WAIT, waiting).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(AppError::Internal("resizing closed".into())),
        Err(_) => Err(AppError::TooManyRequests {
            message: "The server is busy with other images; try again shortly".into(),
            retry_after: 5,
        }),
    }
}
