//! What makes `_media` objects different from others: they are made by uploads only, and
//! the fields that describe their stored file keep the upload's values.

use entity::content_object;
use serde_json::{Map, Value};

use crate::content::internal::{MEDIA, MEDIA_FILE_FIELDS};
use crate::error::{AppError, AppResult};

/// Media objects are made by uploads only (`POST /api/media`): their id names a stored
/// file, and their file fields describe it.
pub(super) fn refuse_media_create(type_name: &str) -> AppResult<()> {
    if type_name == MEDIA {
        return Err(AppError::field(
            "id",
            "Media objects are made by uploading a file to /api/media",
        ));
    }
    Ok(())
}

/// A media object's fields that describe its stored file are the upload's: a write keeps
/// them as they are, whatever it sends.
pub(super) fn keep_file_fields(existing: &content_object::Model, data: &mut Map<String, Value>) {
    for field in MEDIA_FILE_FIELDS {
        match existing.data.get(field) {
            Some(value) => data.insert(field.to_owned(), value.clone()),
            None => data.remove(field),
        };
    }
}
