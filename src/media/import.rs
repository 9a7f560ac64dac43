//! `_media` objects of an export (`contentgate import`), with their files and ids.

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde_json::Value;

use super::{
    MAX_UPLOAD_BYTES, MediaStore, blocking_failed, extension_in, file_errors, media_body, resize,
    select_media, sniff, store, turn,
};
use crate::auth::{Action, Principal};
use crate::content::internal::MEDIA;
use crate::error::{AppError, AppResult};

/// What an import brings of a `_media` object besides its file.
const DESCRIBED_BY_CLIENTS: [&str; 5] = ["alt", "title", "tags", "variants", "externalId"];

/// Rows with a media id, in any account, live or deleted.
#[derive(FromQueryResult)]
struct Holder {
    data: String,
    account_id: String,
    deleted_at: Option<i64>,
}

fn refused(id: &str, why: &str) -> AppError {
    AppError::field("id", format!("{id}: {why}"))
}

/// Imports one `_media` object of an export from `folder`, keeping its id: the file
/// (`<id>.<extension>` there, a plain file) is checked as an upload is; a new object
/// gets it stored first, then the object; one imported before keeps its file (which
/// must be the same bytes: a file never changes under its id, its URLs are cached for
/// good) and takes the export's description. An id another account holds, or one
/// deleted here, is refused (its files are another object's, or about to be removed).
/// Returns whether the object was created.
pub async fn import(
    db: &DatabaseConnection,
    store: &MediaStore,
    principal: &Principal,
    exported: &Value,
    folder: &std::path::Path,
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
    let extension = exported["extension"].as_str().unwrap_or_default();
    if !sniff::is_safe_extension(extension) {
        return Err(refused(id, "the extension must be letters and digits"));
    }
    let file = folder.join(format!("{id}.{extension}"));
    // A plain file in the folder: never a link to something else on this machine.
    let is_file = std::fs::symlink_metadata(&file).is_ok_and(|meta| meta.is_file());
    if !is_file {
        return Err(refused(id, &format!("no plain file {}", file.display())));
    }
    let mut sql = select_media(db, ", account_id, deleted_at");
    sql.push(" AND object_id = ").bind(id.to_owned());
    let holders = Holder::find_by_statement(sql.statement()).all(db).await?;
    if holders
        .iter()
        .any(|h| h.account_id != principal.account_id())
    {
        return Err(refused(id, "another account holds this media id"));
    }
    let live = holders.iter().find(|h| h.deleted_at.is_none());
    if live.is_none() && !holders.is_empty() {
        return Err(refused(id, "this media id was deleted here"));
    }
    let bytes = tokio::fs::read(&file)
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
    let mut described = serde_json::Map::new();
    for field in DESCRIBED_BY_CLIENTS {
        if let Some(value) = exported.get(field).filter(|v| !v.is_null()) {
            described.insert(field.into(), value.clone());
        }
    }
    if let Some(live) = live {
        let key = store::original(id, &extension_in(&live.data));
        match store.read(&key).await {
            Ok(stored) if stored == bytes => {}
            Ok(_) => {
                return Err(refused(
                    id,
                    "the file differs from the one stored under this id",
                ));
            }
            // Lost (a store restored without it): the export brings it back.
            Err(AppError::NotFound) => store.keep_bytes(&key, bytes).await?,
            Err(err) => return Err(err),
        }
        let patch = Value::Object(described);
        crate::content::objects::update(db, principal, MEDIA, id, &patch, true).await?;
        return Ok(false);
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
    store
        .keep_bytes(&store::original(id, extension), bytes)
        .await?;
    let mut body = media_body(id, file_name, &mime, size, dimensions, extension);
    for (field, value) in described {
        body[field] = value;
    }
    if let Err(err) = crate::content::objects::create_uploaded(db, principal, &body).await {
        // No object points at the file: it goes at once.
        let _ = store.remove(id, extension).await;
        return Err(err);
    }
    Ok(true)
}
