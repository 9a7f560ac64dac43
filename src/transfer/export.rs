//! `contentgate export DIR`.

use std::path::Path;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::Value;

use super::{DEFINITION_FILE, folder_of, io_error, name_of, objects_file, without_server_fields};
use crate::auth::Principal;
use crate::content::internal::MEDIA;
use crate::content::{objects, types};
use crate::error::{AppError, AppResult};
use crate::media::MediaStore;

#[derive(Debug, Default, Serialize)]
pub struct Exported {
    pub types: usize,
    pub objects: usize,
    pub media_files: usize,
}

/// Every object of a type, by id.
async fn all_objects(
    db: &DatabaseConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<Vec<Value>> {
    let model = objects::authorized_type(db, principal, name, &[crate::auth::Action::Read]).await?;
    let ordering = crate::content::filter::parse_order(&model, None, None, false)?;
    let reader = crate::db::Db::new(db.clone());
    let mut all = Vec::new();
    for page in 1.. {
        let params = objects::ListParams {
            page,
            limit: 1000,
            offset: (page - 1) * 1000,
            ordering: ordering.clone(),
            filters: Vec::new(),
            ids: Vec::new(),
            hydrate: 0,
        };
        let (found, _) = objects::list_values(&reader, principal, &model, &params).await?;
        let last = found.data.len() < 1000;
        all.extend(found.data);
        if last {
            break;
        }
    }
    for object in &mut all {
        if let Some(map) = object.as_object_mut() {
            map.remove("internal");
        }
    }
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Ok(all)
}

/// Writes the account's types, objects and media files to `dir` (absent or empty).
pub async fn export(
    db: &DatabaseConnection,
    store: &MediaStore,
    account_id: &str,
    dir: &Path,
) -> AppResult<Exported> {
    let principal = Principal::operator(account_id);
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(AppError::BadRequest(format!(
            "{} exists, but isn't empty",
            dir.display()
        )));
    }
    let params = types::ListParams {
        page: 1,
        limit: 1000,
        order_by: Some("name".into()),
        descending: false,
        internal: None,
        name: None,
        label: None,
        names: Vec::new(),
    };
    let definitions = types::list(db, &principal, &params).await?.data;
    let mut exported = Exported::default();
    for definition in definitions {
        let name = name_of(&definition).to_owned();
        let internal = definition["internal"].as_bool().unwrap_or(false);
        let folder = dir.join(folder_of(&name, internal));
        std::fs::create_dir_all(&folder).map_err(|err| io_error(&folder, err))?;
        let text = serde_json::to_string_pretty(&without_server_fields(definition))
            .map_err(|err| AppError::Internal(err.to_string()))?;
        let path = folder.join(DEFINITION_FILE);
        std::fs::write(&path, text).map_err(|err| io_error(&path, err))?;
        exported.types += 1;
        let all = all_objects(db, &principal, &name).await?;
        if all.is_empty() {
            continue;
        }
        let lines: Vec<String> = all.iter().map(Value::to_string).collect();
        let path = folder.join(objects_file(&name));
        std::fs::write(&path, lines.join("\n")).map_err(|err| io_error(&path, err))?;
        exported.objects += all.len();
        if name == MEDIA {
            for object in &all {
                let id = object["id"].as_str().unwrap_or_default();
                let extension = object["extension"].as_str().unwrap_or_default();
                if !crate::media::is_plain_extension(extension) {
                    continue;
                }
                let bytes = store
                    .read(&crate::media::store::original(id, extension))
                    .await?;
                let path = folder.join(format!("{id}.{extension}"));
                std::fs::write(&path, bytes).map_err(|err| io_error(&path, err))?;
                exported.media_files += 1;
            }
        }
    }
    Ok(exported)
}
