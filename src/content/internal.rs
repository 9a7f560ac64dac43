//! Flotiq's internal content types, present in every account: `_media` (the media
//! library: one object per uploaded file) and `_tag` (tags media can carry). Clients
//! read and write their objects like any others, under the same key rules
//! (`--rule _media=r`); they cannot redefine or delete the types themselves.

use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use super::definitions::models::existing;
use super::definitions::validate::validate;
use super::types::{DEFINITIONS_LOCK, bump_revision, insert_definition};
use crate::error::{AppError, AppResult};

pub const MEDIA: &str = "_media";
pub const TAG: &str = "_tag";

/// The fields of a `_media` object that describe its stored file: set by the upload,
/// kept by every later write.
pub const MEDIA_FILE_FIELDS: [&str; 9] = [
    "mimeType",
    "size",
    "width",
    "height",
    "url",
    "externalId",
    "source",
    "extension",
    "type",
];

/// The definitions, `_tag` first (`_media.tags` relates to it).
pub fn definitions() -> [Value; 2] {
    [tag_definition(), media_definition()]
}

pub fn is_internal(name: &str) -> bool {
    name == MEDIA || name == TAG
}

fn tag_definition() -> Value {
    json!({
        "name": TAG,
        "label": "Tag",
        "internal": true,
        "schemaDefinition": {
            "type": "object",
            "allOf": [
                {"$ref": "#/components/schemas/AbstractContentTypeSchemaDefinition"},
                {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}}
            ],
            "required": ["name"],
            "additionalProperties": false
        },
        "metaDefinition": {
            "order": ["name"],
            "propertiesConfig": {
                "name": {"label": "Name", "inputType": "text", "unique": true, "isTitlePart": true}
            }
        }
    })
}

fn media_definition() -> Value {
    let text = |label: &str| json!({"label": label, "inputType": "text", "unique": false});
    let number = |label: &str| json!({"label": label, "inputType": "number", "unique": false});
    let trim = json!({"type": "object", "properties": {
        "top": {"type": "number"}, "left": {"type": "number"}, "right": {"type": "number"},
        "bottom": {"type": "number"}, "width": {"type": "number"}, "height": {"type": "number"}
    }});
    let variant = json!({"type": "object", "properties": {
        "name": {"type": "string", "pattern": "^[_a-zA-Z0-9]+$"},
        "trim": trim
    }});
    let properties = json!({
        "fileName": {"type": "string"},
        "mimeType": {"type": "string"},
        "size": {"type": "number"},
        "width": {"type": "number"},
        "height": {"type": "number"},
        "url": {"type": "string"},
        "externalId": {"type": "string"},
        "source": {"type": "string"},
        "extension": {"type": "string"},
        "type": {"type": "string"},
        "tags": {"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}},
        "alt": {"type": "string"},
        "title": {"type": "string"},
        "variants": {"type": "array", "items": variant}
    });
    let select = |label: &str, options: &[&str]| json!({"label": label, "inputType": "select", "unique": false, "options": options});
    let config = json!({
        "fileName": {"label": "File name", "inputType": "text", "unique": false, "isTitlePart": true},
        "mimeType": text("MIME type"),
        "size": number("Size"),
        "width": number("Width"),
        "height": number("Height"),
        "url": text("Url"),
        "externalId": text("External id"),
        "source": select("Source", &["disk", "unsplash"]),
        "extension": text("Extension"),
        "type": select("Type", &["file", "image"]),
        "tags": {"label": "Tags", "inputType": "datasource", "unique": false,
                 "validation": {"relationContenttype": TAG}},
        "alt": text("Alternative text"),
        "title": text("Title"),
        "variants": {"label": "Variants", "inputType": "object", "unique": false,
                     "items": {"order": ["name", "trim"], "propertiesConfig": {
                         "name": text("Name"),
                         "trim": {"label": "Trim", "inputType": "object", "unique": false}
                     }}}
    });
    json!({
        "name": MEDIA,
        "label": "Media",
        "internal": true,
        "schemaDefinition": {
            "type": "object",
            "allOf": [
                {"$ref": "#/components/schemas/AbstractContentTypeSchemaDefinition"},
                {"type": "object", "properties": properties}
            ],
            "required": ["fileName", "mimeType", "size", "url", "source", "extension", "type"],
            "additionalProperties": false
        },
        "metaDefinition": {
            "order": ["fileName", "mimeType", "size", "width", "height", "url", "externalId",
                      "source", "extension", "type", "tags", "alt", "title", "variants"],
            "propertiesConfig": config
        }
    })
}

/// Creates the internal types an account lacks (a new account, or one from before they
/// existed); returns whether any was added. Idempotent, and safe for instances that run
/// it together (the account's definition lock).
pub async fn ensure(db: &DatabaseConnection, account_id: &str) -> AppResult<bool> {
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_type(&txn, account_id, DEFINITIONS_LOCK).await?;
    let mut names: Vec<String> = existing(&txn, account_id)
        .await?
        .into_iter()
        .map(|row| row.name)
        .collect();
    let mut added = false;
    for definition in definitions() {
        let name = definition["name"].as_str().unwrap_or_default().to_owned();
        if names.contains(&name) {
            continue;
        }
        let (stored, model) = validate(&definition, &|n| names.iter().any(|known| known == n))
            .map_err(|err| AppError::Internal(format!("internal type {name}: {err:?}")))?;
        insert_definition(&txn, account_id, stored, &model).await?;
        names.push(name);
        added = true;
    }
    if added {
        bump_revision(&txn, account_id).await?;
    }
    crate::db::commit(db, txn).await?;
    Ok(added)
}

/// `ensure` for every account.
pub async fn ensure_everywhere(db: &DatabaseConnection) -> AppResult<()> {
    for account in entity::account::Entity::find().all(db).await? {
        ensure(db, &account.id).await?;
    }
    Ok(())
}
