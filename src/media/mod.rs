//! The media library: an upload becomes a `_media` object whose file is in the store,
//! and files are delivered by id, resized on demand and kept resized. The file is
//! stored before its object is written, so after any crash an object always has its
//! file (a file without an object may be left, for `media gc`).

pub mod bucket;
pub mod gc;
mod removal;
pub mod resize;
pub mod sniff;
pub mod store;
pub mod trim;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::{Value, json};

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
    store
        .keep(upload.incoming, &store::original(&id, &extension))
        .await?;
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
        let _ = store.remove(&id, &extension).await;
    }
    created
}

/// A file to send: its key in the store (or its bytes, for a copy not kept), its type,
/// the tag naming its bytes, and whether the URL may show other bytes later (a named
/// variant, whose trim the object may change).
pub struct Delivery {
    pub source: Source,
    pub mime: String,
    pub etag: String,
    pub changeable: bool,
}

pub enum Source {
    Stored(String),
    Bytes(Vec<u8>),
}

/// What a delivery URL asks for: a size (0: free), and the part of the image.
pub struct Wanted<'a> {
    pub id: &'a str,
    pub extension: &'a str,
    pub width: u32,
    pub height: u32,
    pub shape: Shape,
}

pub enum Shape {
    Whole,
    Trim(Trim),
    /// A named entry of the object's `variants`.
    Variant(String),
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
/// kept (a URL can ask for any size, and nobody may fill the storage with them).
pub const MAX_KEPT_SIZES: usize = 64;

/// The trim of the object's variant `name` (none when the variant has none).
fn variant_trim(data: &Value, name: &str) -> AppResult<Option<Trim>> {
    let variant = data["variants"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["name"].as_str() == Some(name)))
        .ok_or(AppError::NotFound)?;
    match variant.get("trim") {
        None | Some(Value::Null) => Ok(None),
        Some(trim) => Trim::from_json(trim).map(Some),
    }
}

/// The file for `/image/{width}x{height}/{id}.{extension}` (with a trim or a variant):
/// the original at 0x0 (and for SVG at any size), else a copy, made once and kept. The
/// type sent is decided from the stored bytes again, never from the object's fields,
/// which any key with update on `_media` may change.
pub async fn deliver(
    db: &DatabaseConnection,
    store: &MediaStore,
    wanted: Wanted<'_>,
) -> AppResult<Delivery> {
    let Wanted {
        id,
        extension,
        width,
        height,
        shape,
    } = wanted;
    let data = find(db, id).await?;
    let stored_ext = data["extension"].as_str().unwrap_or_default();
    if !stored_ext.eq_ignore_ascii_case(extension) || !is_plain_extension(stored_ext) {
        return Err(AppError::NotFound);
    }
    let changeable = matches!(shape, Shape::Variant(_));
    let trim = match shape {
        Shape::Whole => None,
        Shape::Trim(trim) => Some(trim),
        Shape::Variant(name) => variant_trim(&data, &name)?,
    };
    let original = store::original(id, stored_ext);
    let head = store.head(&original, HEAD_BYTES).await?;
    let mut mime = sniff::mime_of(&head, head.len() < HEAD_BYTES);
    if !sniff::is_allowed(&mime) {
        mime = "application/octet-stream".into();
    }
    let whole = |mime: String| Delivery {
        source: Source::Stored(original.clone()),
        etag: format!("\"{id}-0x0\""),
        mime,
        changeable,
    };
    if (width, height) == (0, 0) && trim.is_none() {
        return Ok(whole(mime));
    }
    if mime.starts_with("image/svg") {
        if trim.is_some() {
            return Err(AppError::BadRequest(
                "Only raster images can be trimmed".into(),
            ));
        }
        return Ok(whole(mime));
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
    let dimensions = match resize::dimensions(&head) {
        Some(found) => Some(found),
        // A header past the first bytes (a JPEG with a large EXIF block).
        None => resize::dimensions(&store.read(&original).await?),
    };
    let Some((ow, oh)) = dimensions else {
        return Err(AppError::BadRequest(
            "The stored file is not a readable image".into(),
        ));
    };
    // A trim that keeps everything is no trim.
    let area = trim
        .map(|trim| trim.area(ow, oh))
        .transpose()?
        .filter(|area| (area.width, area.height) != (ow, oh));
    let (aw, ah) = area.map_or((ow, oh), |a| (a.width, a.height));
    let (width, height, crop) = resize::target((aw, ah), width, height);
    if area.is_none() && (width, height) == (ow, oh) {
        return Ok(whole(mime));
    }
    // Copies are named by what they show and the size they come out at: every request
    // that comes out the same shares one file.
    let (width, height) = if crop { (width, height) } else { (width, 0) };
    let name = match &area {
        Some(area) => format!("{}-{width}x{height}", area.name()),
        None => format!("{width}x{height}"),
    };
    let key = store::copy(id, &name, stored_ext);
    let source = if store.exists(&key).await? {
        Source::Stored(key)
    } else {
        let keep = store.copy_count(id).await? < MAX_KEPT_SIZES;
        let bytes = make_resized(store, &original, area, width, height).await?;
        if keep {
            store.keep_bytes(&key, bytes.clone()).await?;
        }
        Source::Bytes(bytes)
    };
    Ok(Delivery {
        source,
        etag: format!("\"{id}-{name}\""),
        mime,
        changeable,
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
    original: &str,
    area: Option<Area>,
    width: u32,
    height: u32,
) -> AppResult<Vec<u8>> {
    let _permit = turn(store).await?;
    let bytes = store.read(original).await?;
    tokio::task::spawn_blocking(move || {
        resize::resize(&bytes, area, width, height).map_err(AppError::BadRequest)
    })
    .await
    .map_err(blocking_failed)?
}
