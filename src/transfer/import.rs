//! `contentgate import DIR`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::{Value, json};

use super::{DEFINITION_FILE, io_error, name_of, objects_file, without_server_fields};
use crate::auth::Principal;
use crate::content::definitions::validate::{model_of, validate};
use crate::content::internal::{MEDIA, TAG};
use crate::content::{batch, types};
use crate::error::{AppError, AppResult};
use crate::media::MediaStore;

/// Objects per write, as the API's batches.
const BATCH: usize = 100;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub types_created: usize,
    pub types_updated: usize,
    pub types_unchanged: usize,
    pub objects_written: usize,
    pub media_created: usize,
    pub media_updated: usize,
    /// Objects refused, with why (`type/id: reasons`).
    pub failures: Vec<String>,
}

/// One type's folder as read.
struct Folder {
    path: PathBuf,
    definition: Value,
    objects: Vec<Value>,
}

fn read_folder(path: PathBuf) -> AppResult<Option<Folder>> {
    let definition_path = path.join(DEFINITION_FILE);
    let Ok(text) = std::fs::read_to_string(&definition_path) else {
        return Ok(None);
    };
    let definition: Value = serde_json::from_str(&text)
        .map_err(|err| AppError::BadRequest(format!("{}: {err}", definition_path.display())))?;
    let name = definition["name"].as_str().unwrap_or_default().to_owned();
    let mut objects = Vec::new();
    let objects_path = path.join(objects_file(&name));
    if let Ok(text) = std::fs::read_to_string(&objects_path) {
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let parsed: Value = serde_json::from_str(line).map_err(|err| {
                AppError::BadRequest(format!("{}:{}: {err}", objects_path.display(), n + 1))
            })?;
            // A file may also hold arrays of objects (Flotiq's reader flattens them).
            match parsed {
                Value::Array(items) => objects.extend(items),
                item => objects.push(item),
            }
        }
    }
    Ok(Some(Folder {
        path,
        definition,
        objects,
    }))
}

fn read_dir(dir: &Path) -> AppResult<Vec<Folder>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| io_error(dir, err))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    let mut folders = Vec::new();
    for path in entries {
        folders.extend(read_folder(path)?);
    }
    Ok(folders)
}

/// The types others relate to first; a cycle between types is refused (there is no
/// order to create them in).
fn dependency_order(folders: &[Folder]) -> AppResult<Vec<usize>> {
    let names: BTreeMap<&str, usize> = folders
        .iter()
        .enumerate()
        .map(|(i, f)| (name_of(&f.definition), i))
        .collect();
    let needs: Vec<BTreeSet<usize>> = folders
        .iter()
        .map(|folder| {
            let name = name_of(&folder.definition);
            model_of(&folder.definition)
                .properties
                .iter()
                .filter_map(|p| p.relation.as_deref())
                .filter(|target| *target != name)
                .filter_map(|target| names.get(target).copied())
                .collect()
        })
        .collect();
    let mut order = Vec::new();
    let mut placed = vec![false; folders.len()];
    while order.len() < folders.len() {
        let ready: Vec<usize> = (0..folders.len())
            .filter(|&i| !placed[i] && needs[i].iter().all(|&n| placed[n]))
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = (0..folders.len())
                .filter(|&i| !placed[i])
                .map(|i| name_of(&folders[i].definition))
                .collect();
            return Err(AppError::BadRequest(format!(
                "These types relate to each other in a circle, so none can be created first: {}",
                stuck.join(", ")
            )));
        }
        for i in ready {
            placed[i] = true;
            order.push(i);
        }
    }
    Ok(order)
}

async fn import_definition(
    db: &DatabaseConnection,
    principal: &Principal,
    definition: &Value,
    report: &mut Report,
) -> AppResult<()> {
    let name = name_of(definition);
    let wanted = without_server_fields(definition.clone());
    // Compared as the server keeps definitions (defaults filled in), so an unchanged
    // folder is unchanged.
    let normalized = validate(&wanted, &|_| true).ok().map(|(stored, _)| stored);
    match types::get(db, principal, name).await {
        Ok(current) if Some(without_server_fields(current.clone())) == normalized => {
            report.types_unchanged += 1
        }
        Ok(_) => {
            types::update(db, principal, name, &wanted, crate::graphql::check_models).await?;
            report.types_updated += 1;
        }
        Err(AppError::NotFound) => {
            types::create(db, principal, &wanted, crate::graphql::check_models).await?;
            report.types_created += 1;
        }
        Err(err) => return Err(err),
    }
    Ok(())
}

fn failed_items(type_name: &str, report: &batch::BatchReport, failures: &mut Vec<String>) {
    for failure in &report.errors {
        let id = failure.data["id"].as_str().unwrap_or("(no id)");
        failures.push(format!(
            "{type_name}/{id}: {}",
            serde_json::to_string(&failure.errors).unwrap_or_default()
        ));
    }
}

/// Writes a type's objects: first without their relations to objects of the same type
/// (they may point forward, or at each other), then those relations.
async fn import_objects(
    db: &DatabaseConnection,
    principal: &Principal,
    folder: &Folder,
    report: &mut Report,
    progress: &mut impl FnMut(usize),
) -> AppResult<()> {
    let name = name_of(&folder.definition);
    let own: Vec<String> = model_of(&folder.definition)
        .properties
        .iter()
        .filter(|p| p.relation.as_deref() == Some(name))
        .map(|p| p.name.clone())
        .collect();
    let clean = |object: &Value| {
        let mut object = object.clone();
        if let Some(map) = object.as_object_mut() {
            map.remove("internal");
            for property in &own {
                if map.contains_key(property) {
                    map.insert(property.clone(), json!([]));
                }
            }
        }
        object
    };
    // Without an id an object would be new on every run.
    let (with_id, without): (Vec<&Value>, Vec<&Value>) =
        folder.objects.iter().partition(|o| o["id"].is_string());
    for _ in &without {
        report
            .failures
            .push(format!("{name}: an object without an id"));
    }
    progress(without.len());
    for chunk in with_id.chunks(BATCH) {
        let items: Vec<Value> = chunk.iter().map(|o| clean(o)).collect();
        let written = batch::batch_create(db, principal, name, &Value::Array(items), true).await?;
        report.objects_written += written.batch_success_count;
        failed_items(name, &written, &mut report.failures);
        progress(chunk.len());
    }
    if own.is_empty() {
        return Ok(());
    }
    for chunk in with_id.chunks(BATCH) {
        let patches: Vec<Value> = chunk
            .iter()
            .filter(|o| own.iter().any(|p| o.get(p).is_some()))
            .map(|o| {
                let mut patch = json!({"id": o["id"]});
                for property in &own {
                    if let Some(value) = o.get(property) {
                        patch[property] = value.clone();
                    }
                }
                patch
            })
            .collect();
        if patches.is_empty() {
            continue;
        }
        match batch::batch_patch(db, principal, name, &Value::Array(patches)).await {
            Ok(patched) => failed_items(name, &patched, &mut report.failures),
            Err(err) => report.failures.push(format!("{name}: {err}")),
        }
    }
    Ok(())
}

/// Imports `dir` into the account: types (created or brought up to date, in dependency
/// order; `_media` and `_tag` exist already), tags, media files keeping their ids, then
/// every other type's objects in batches. Running it again updates, never duplicates.
/// `progress(done, total)` counts objects.
pub async fn import(
    db: &DatabaseConnection,
    store: &MediaStore,
    account_id: &str,
    dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> AppResult<Report> {
    let principal = Principal::operator(account_id);
    let folders = read_dir(dir)?;
    if folders.is_empty() {
        return Err(AppError::BadRequest(format!(
            "{} holds no {DEFINITION_FILE} in any folder",
            dir.display()
        )));
    }
    let order = dependency_order(&folders)?;
    let mut report = Report::default();
    let is_internal = |f: &Folder| matches!(name_of(&f.definition), MEDIA | TAG);
    for &i in &order {
        if !is_internal(&folders[i]) {
            import_definition(db, &principal, &folders[i].definition, &mut report).await?;
        }
    }
    let total: usize = folders.iter().map(|f| f.objects.len()).sum();
    let mut done = 0;
    let mut step = |n: usize| {
        done += n;
        progress(done, total);
    };
    // Tags first (media point at them), then media, then the rest in dependency order.
    let by_name = |wanted: &str| folders.iter().find(|f| name_of(&f.definition) == wanted);
    if let Some(tags) = by_name(TAG) {
        import_objects(db, &principal, tags, &mut report, &mut step).await?;
    }
    if let Some(media) = by_name(MEDIA) {
        for object in &media.objects {
            let id = object["id"].as_str().unwrap_or_default();
            match crate::media::import(db, store, &principal, object, &media.path).await {
                Ok(true) => report.media_created += 1,
                Ok(false) => report.media_updated += 1,
                Err(err) => report
                    .failures
                    .push(format!("{MEDIA}/{id}: {}", describe(&err))),
            }
            step(1);
        }
    }
    for &i in &order {
        if !is_internal(&folders[i]) {
            import_objects(db, &principal, &folders[i], &mut report, &mut step).await?;
        }
    }
    Ok(report)
}

fn describe(err: &AppError) -> String {
    match err {
        AppError::Validation(errors) => serde_json::to_string(errors).unwrap_or_default(),
        other => other.to_string(),
    }
}
