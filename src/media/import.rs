//! `_media` objects of an export (`contentgate import`), with their files and ids.

use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::{
    MAX_UPLOAD_BYTES, MediaStore, blocking_failed, file_errors, is_plain_extension, media_body,
    resize, sniff, store, turn,
};
use crate::auth::{Action, Principal};
use crate::content::internal::MEDIA;
use crate::error::{AppError, AppResult};

/// What an import brings of a `_media` object besides its file.
const DESCRIBED_BY_CLIENTS: [&str; 5] = ["alt", "title", "tags", "variants", "externalId"];

/// Imports one `_media` object of an export with its file, keeping its id: the file is
/// checked as an upload is and stored first; the object is created, or (imported
/// before) given the export's description. Returns whether it was created.
pub async fn import(
    db: &DatabaseConnection,
    store: &MediaStore,
    principal: &Principal,
    exported: &Value,
    file: &std::path::Path,
) -> AppResult<bool> {
    principal.require(MEDIA, Action::Create)?;
    let id = exported["id"].as_str().unwrap_or_default();
    let plain_id = id.starts_with("_media-")
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plain_id {
        return Err(AppError::field("id", format!("Not a media id: {id:?}")));
    }
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|err| AppError::BadRequest(format!("{}: {err}", file.display())))?;
    let size = bytes.len() as u64;
    let mime = sniff::mime_of(&bytes, true);
    if !sniff::is_allowed(&mime) || size > MAX_UPLOAD_BYTES || size == 0 {
        return Err(file_errors(vec![format!(
            "{}: a {mime} file of {size} bytes is not accepted",
            file.display()
        )]));
    }
    let dimensions = if sniff::is_raster(&mime) {
        let _permit = turn(store).await?;
        let decoding = bytes.clone();
        tokio::task::spawn_blocking(move || {
            resize::decode(&decoding).map(|image| (image.width(), image.height()))
        })
        .await
        .map_err(blocking_failed)?
        .map_err(|message| file_errors(vec![message]))?
    } else {
        (0, 0)
    };
    let file_name = exported["fileName"].as_str().unwrap_or(id);
    let extension = match exported["extension"].as_str() {
        Some(ext) if is_plain_extension(ext) && !ext.is_empty() => ext.to_owned(),
        _ => sniff::extension(file_name, &mime),
    };
    store
        .keep_bytes(&store::original(id, &extension), bytes)
        .await?;
    let mut described = serde_json::Map::new();
    for field in DESCRIBED_BY_CLIENTS {
        if let Some(value) = exported.get(field).filter(|v| !v.is_null()) {
            described.insert(field.into(), value.clone());
        }
    }
    let patch = Value::Object(described.clone());
    match crate::content::objects::update(db, principal, MEDIA, id, &patch, true).await {
        Ok(_) => return Ok(false),
        Err(AppError::NotFound) => {}
        Err(err) => return Err(err),
    }
    let mut body = media_body(id, file_name, &mime, size, dimensions, &extension);
    for (field, value) in described {
        body[field] = value;
    }
    crate::content::objects::create_uploaded(db, principal, &body).await?;
    Ok(true)
}
