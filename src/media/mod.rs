//! The media library: an upload becomes a `_media` object whose file is in the store,
//! and files are delivered by id, resized on demand and kept resized. The file is
//! stored before its object is written, so after any crash an object always has its
//! file (a file without an object may be left, for `media gc`).

pub mod resize;
pub mod sniff;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::{Value, json};

pub use store::{Incoming, MediaStore};

use crate::auth::{Action, Principal};
use crate::content::internal::MEDIA;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldErrors};

/// Flotiq's limit for one file.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
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

fn file_errors(messages: Vec<String>) -> AppError {
    let mut errors = FieldErrors::new();
    errors.insert("file".into(), messages);
    AppError::Validation(errors)
}

fn blocking_failed(err: tokio::task::JoinError) -> AppError {
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
    let target = store.original(&id, &extension);
    let keeping = store.clone();
    let incoming = upload.incoming;
    tokio::task::spawn_blocking(move || keeping.keep(incoming, &target))
        .await
        .map_err(blocking_failed)??;
    let kind = if mime.starts_with("image/") {
        "image"
    } else {
        "file"
    };
    let body = json!({
        "id": id,
        "fileName": upload.file_name,
        "mimeType": mime,
        "size": upload.size,
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
    });
    crate::content::objects::create(db, principal, MEDIA, &body).await
}

/// A file to send: where it is, its type, and the tag naming its bytes.
pub struct Delivery {
    pub path: PathBuf,
    pub mime: String,
    pub etag: String,
}

#[derive(FromQueryResult)]
struct MediaRow {
    data: String,
}

/// The live `_media` object with this id, in whatever account (ids are unguessable;
/// Flotiq serves files without a key).
async fn find(db: &DatabaseConnection, id: &str) -> AppResult<Value> {
    let mut sql = Sql::new(db.get_database_backend());
    let data = if sql.is_postgres() {
        "data::text"
    } else {
        "data"
    };
    sql.push(&format!(
        "SELECT {data} AS data FROM content_objects WHERE content_type = "
    ))
    .bind(MEDIA)
    .push(" AND object_id = ")
    .bind(id.to_owned())
    .push(" AND deleted_at IS NULL LIMIT 1");
    let row = MediaRow::find_by_statement(sql.statement())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    serde_json::from_str(&row.data).map_err(|err| AppError::Internal(err.to_string()))
}

/// The file for `/image/{width}x{height}/{id}.{extension}`: the original at 0x0 (and for
/// SVG at any size), else a resized copy, made once and kept.
pub async fn deliver(
    db: &DatabaseConnection,
    store: &MediaStore,
    id: &str,
    extension: &str,
    width: u32,
    height: u32,
) -> AppResult<Delivery> {
    let data = find(db, id).await?;
    let stored_ext = data["extension"].as_str().unwrap_or_default();
    if !stored_ext.eq_ignore_ascii_case(extension) {
        return Err(AppError::NotFound);
    }
    let mime = data["mimeType"].as_str().unwrap_or_default().to_owned();
    let original = store.original(id, stored_ext);
    if (width, height) == (0, 0) || mime.starts_with("image/svg") {
        return Ok(Delivery {
            path: original,
            etag: format!("\"{id}-0x0\""),
            mime,
        });
    }
    if !sniff::is_raster(&mime) {
        return Err(AppError::BadRequest(
            "Only images can be resized; use 0x0 for this file".into(),
        ));
    }
    if width > resize::MAX_SIDE || height > resize::MAX_SIDE {
        return Err(AppError::BadRequest(format!(
            "Width and height may be at most {}",
            resize::MAX_SIDE
        )));
    }
    let path = store.resized(width, height, id, stored_ext);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        make_resized(store, original, path.clone(), width, height).await?;
    }
    Ok(Delivery {
        path,
        etag: format!("\"{id}-{width}x{height}\""),
        mime,
    })
}

async fn make_resized(
    store: &MediaStore,
    original: PathBuf,
    target: PathBuf,
    width: u32,
    height: u32,
) -> AppResult<()> {
    // A bound on resizes at once: each holds a decoded image and a core.
    let _permit = Arc::clone(store.resizing())
        .acquire_owned()
        .await
        .map_err(|_| AppError::Internal("resizing closed".into()))?;
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        if target.exists() {
            return Ok(());
        }
        let bytes = std::fs::read(&original)
            .map_err(|err| AppError::Internal(format!("{}: {err}", original.display())))?;
        let resized = resize::resize(&bytes, width, height).map_err(AppError::BadRequest)?;
        let mut incoming = store.incoming()?;
        incoming.write(&resized)?;
        store.keep(incoming, &target)?;
        Ok(())
    })
    .await
    .map_err(blocking_failed)?
}
