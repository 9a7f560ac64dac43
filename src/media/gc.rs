//! `contentgate media gc`: removes files that no live `_media` object points at (left by
//! a crash between storing a file and writing its object, or by a sweep that never ran),
//! and upload leftovers in `tmp/` older than an hour.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use sea_orm::{DatabaseConnection, FromQueryResult};
use serde::Serialize;

use super::{MediaStore, extension_in, select_media};
use crate::error::AppResult;

#[derive(Debug, Default, Serialize)]
pub struct Collected {
    pub removed_files: u64,
    pub removed_bytes: u64,
    pub kept_files: u64,
}

/// The files of every live `_media` object: `<id>.<ext>`.
async fn live_files(db: &DatabaseConnection) -> AppResult<HashSet<String>> {
    #[derive(FromQueryResult)]
    struct Row {
        object_id: String,
        data: String,
    }
    let mut sql = select_media(db, "");
    sql.push(" AND deleted_at IS NULL");
    let rows = Row::find_by_statement(sql.statement()).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| format!("{}.{}", row.object_id, extension_in(&row.data)))
        .collect())
}

/// Walks the store; `progress(done, total)` is told after each original.
pub async fn collect(
    db: &DatabaseConnection,
    store: &MediaStore,
    mut progress: impl FnMut(u64, u64),
) -> AppResult<Collected> {
    let live = live_files(db).await?;
    let mut collected = Collected::default();
    let originals: Vec<std::fs::DirEntry> = match std::fs::read_dir(store.root().join("originals"))
    {
        Ok(dir) => dir.filter_map(Result::ok).collect(),
        Err(_) => Vec::new(),
    };
    let total = originals.len() as u64;
    let mut live_ids = HashSet::new();
    for (done, entry) in originals.iter().enumerate() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if live.contains(&name) {
            collected.kept_files += 1;
            live_ids.insert(
                name.rsplit_once('.')
                    .map_or(name.clone(), |(id, _)| id.to_owned()),
            );
        } else {
            collected.removed_bytes += entry.metadata().map_or(0, |m| m.len());
            std::fs::remove_file(entry.path())?;
            collected.removed_files += 1;
        }
        progress(done as u64 + 1, total);
    }
    // Resized copies of files that are gone.
    if let Ok(dir) = std::fs::read_dir(store.root().join("resized")) {
        for entry in dir.filter_map(Result::ok) {
            let id = entry.file_name().to_string_lossy().into_owned();
            if !live_ids.contains(&id) {
                let files = std::fs::read_dir(entry.path()).map_or(0, |d| d.count() as u64);
                std::fs::remove_dir_all(entry.path())?;
                collected.removed_files += files;
            }
        }
    }
    // Uploads that never finished (a crash mid-upload).
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    if let Ok(dir) = std::fs::read_dir(store.root().join("tmp")) {
        for entry in dir.filter_map(Result::ok) {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified < hour_ago);
            if old {
                collected.removed_bytes += entry.metadata().map_or(0, |m| m.len());
                std::fs::remove_file(entry.path())?;
                collected.removed_files += 1;
            }
        }
    }
    Ok(collected)
}
