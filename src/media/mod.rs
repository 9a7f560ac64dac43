//! The media library: an upload becomes a `_media` object whose file is in the store,
//! and files are delivered by id, resized on demand and kept resized. The file is
//! stored before its object is written, so after any crash an object always has its
//! file (a file without an object may be left, for `media gc`).

pub mod gc;
mod removal;
pub mod resize;
pub mod sniff;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::{Value, json};

pub use removal::{remove_deleted, run_removal};
pub use store::{Incoming, MediaStore};

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

fn file_errors(messages: Vec<String>) -> AppError {
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
        "extension": extension.clone(),
        "type": kind,
        "tags": [],
        "alt": "",
        "title": "",
        "variants": [],
    });
    let created = crate::content::objects::create_uploaded(db, principal, &body).await;
    if created.is_err() {
        // No object points at the file: it goes at once.
        let (store, id) = (store.clone(), id.clone());
        let _ = tokio::task::spawn_blocking(move || store.remove(&id, &extension)).await;
    }
    created
}

/// A file to send: where it is (or its bytes, for a copy not kept), its type, and the
/// tag naming its bytes.
pub struct Delivery {
    pub source: Source,
    pub mime: String,
    pub etag: String,
}

pub enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
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

#[derive(FromQueryResult)]
struct MediaRow {
    data: String,
}

/// The live `_media` object with this id, in whatever account (ids are unguessable;
/// Flotiq serves files without a key).
async fn find(db: &DatabaseConnection, id: &str) -> AppResult<Value> {
    let mut sql = select_media(db, "");
    sql.push(" AND object_id = ")
        .bind(id.to_owned())
        .push(" AND deleted_at IS NULL LIMIT 1");
    let row = MediaRow::find_by_statement(sql.statement())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    serde_json::from_str(&row.data).map_err(|err| AppError::Internal(err.to_string()))
}

/// Kept resized copies per file: past this, copies are made for each request and not
/// kept (a URL can ask for any size, and nobody may fill the disk with them).
pub const MAX_KEPT_SIZES: usize = 64;

/// The first bytes of a file on disk (`NotFound` when it is not there).
async fn head_of(path: &std::path::Path) -> AppResult<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await.map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            AppError::NotFound
        } else {
            AppError::Internal(format!("{}: {err}", path.display()))
        }
    })?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64).read_to_end(&mut head).await?;
    Ok(head)
}

/// The file for `/image/{width}x{height}/{id}.{extension}`: the original at 0x0 (and for
/// SVG at any size), else a resized copy, made once and kept. The type sent is decided
/// from the stored bytes again, never from the object's fields, which any key with
/// update on `_media` may change.
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
    if !stored_ext.eq_ignore_ascii_case(extension) || !is_plain_extension(stored_ext) {
        return Err(AppError::NotFound);
    }
    let original = store.original(id, stored_ext);
    let head = head_of(&original).await?;
    let mut mime = sniff::mime_of(&head, head.len() < HEAD_BYTES);
    if !sniff::is_allowed(&mime) {
        mime = "application/octet-stream".into();
    }
    if (width, height) == (0, 0) || mime.starts_with("image/svg") {
        return Ok(Delivery {
            source: Source::File(original),
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
    // Copies are named by the size they come out at: every request that comes out the
    // same shares one file, and one that comes out as the original is the original.
    let dimensions = match resize::dimensions(&head) {
        Some(found) => Some(found),
        // A header past the first bytes (a JPEG with a large EXIF block).
        None => {
            let path = original.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::read(&path)
                    .ok()
                    .and_then(|b| resize::dimensions(&b))
            })
            .await
            .map_err(blocking_failed)?
        }
    };
    let Some((ow, oh)) = dimensions else {
        return Err(AppError::BadRequest(
            "The stored file is not a readable image".into(),
        ));
    };
    let (width, height, crop) = resize::target((ow, oh), width, height);
    if (width, height) == (ow, oh) {
        return Ok(Delivery {
            source: Source::File(original),
            etag: format!("\"{id}-0x0\""),
            mime,
        });
    }
    let (width, height) = if crop { (width, height) } else { (width, 0) };
    let path = store.resized(width, height, id, stored_ext);
    let source = if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        Source::File(path)
    } else {
        let keep = store.resized_count(id) < MAX_KEPT_SIZES;
        let bytes = make_resized(store, original, width, height).await?;
        if keep {
            let (store, target, kept) = (store.clone(), path.clone(), bytes.clone());
            tokio::task::spawn_blocking(move || {
                let mut incoming = store.incoming()?;
                incoming.write(&kept)?;
                store.keep(incoming, &target)
            })
            .await
            .map_err(blocking_failed)??;
        }
        Source::Bytes(bytes)
    };
    Ok(Delivery {
        source,
        etag: format!("\"{id}-{width}x{height}\""),
        mime,
    })
}

/// A turn to decode an image: a bound on them at once (each holds a decoded image and a
/// core), and a bound on the wait, so a queue of costly requests answers 429 instead of
/// holding everyone's connections.
async fn turn(store: &MediaStore) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
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

async fn make_resized(
    store: &MediaStore,
    original: PathBuf,
    width: u32,
    height: u32,
) -> AppResult<Vec<u8>> {
    let _permit = turn(store).await?;
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&original)
            .map_err(|err| AppError::Internal(format!("{}: {err}", original.display())))?;
        resize::resize(&bytes, width, height).map_err(AppError::BadRequest)
    })
    .await
    .map_err(blocking_failed)?
}
