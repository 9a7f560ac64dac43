//! `contentgate import DIR` and `export DIR`: the `.flotiq` folder Flotiq's command line
//! writes and its starters ship. One folder per type, `ContentType<Name>` (internal types
//! `InternalContentType<Name>`), holding `ContentTypeDefinition.json` and
//! `contentObject<Name>.json` (one object per line, by id); media files sit beside
//! `_media`'s objects as `<id>.<ext>`. Everything goes through the same services as the
//! API, acting as the account's read-write key.

mod export;
mod import;

use std::path::Path;

use serde_json::Value;

use crate::error::AppError;

pub use export::{Exported, export};
pub use import::{Report, import};

const DEFINITION_FILE: &str = "ContentTypeDefinition.json";
/// Fields of a definition that belong to the server that stored it.
const SERVER_FIELDS: [&str; 4] = ["id", "createdAt", "updatedAt", "deletedAt"];

/// Flotiq's `camelize`: `_media` → `Media`, `blog_post` → `BlogPost`.
fn camelize(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn folder_of(name: &str, internal: bool) -> String {
    let prefix = if internal { "Internal" } else { "" };
    format!("{prefix}ContentType{}", camelize(name))
}

fn objects_file(name: &str) -> String {
    format!("contentObject{}.json", camelize(name))
}

fn without_server_fields(mut definition: Value) -> Value {
    if let Some(object) = definition.as_object_mut() {
        for field in SERVER_FIELDS {
            object.remove(field);
        }
    }
    definition
}

fn io_error(path: &Path, err: std::io::Error) -> AppError {
    AppError::BadRequest(format!("{}: {err}", path.display()))
}

fn name_of(definition: &Value) -> &str {
    definition["name"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{camelize, folder_of, objects_file};

    #[test]
    fn names_as_flotiqs_command_line_writes_them() {
        assert_eq!(camelize("_media"), "Media");
        assert_eq!(camelize("blog_post"), "BlogPost");
        assert_eq!(camelize("blogpost"), "Blogpost");
        assert_eq!(folder_of("_media", true), "InternalContentTypeMedia");
        assert_eq!(objects_file("_media"), "contentObjectMedia.json");
    }
}
