//! Delivery of files by id: the original, or a copy trimmed and resized on demand and
//! kept in the store.

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::Value;

use super::{
    HEAD_BYTES, MediaStore, Trim, blocking_failed, is_plain_extension, resize, select_media, sniff,
    store, trim::Area, turn,
};
use crate::error::{AppError, AppResult};

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
