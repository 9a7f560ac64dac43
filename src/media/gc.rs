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
    let originals = store.list("originals").await?;
    let total = originals.len() as u64;
    let mut live_ids = HashSet::new();
    let gone = |collected: &mut Collected, listed: &super::store::Listed| {
        collected.removed_files += 1;
        collected.removed_bytes += listed.size;
    };
    for (done, listed) in originals.iter().enumerate() {
        let name = listed.key.trim_start_matches("originals/");
        if live.contains(name) {
            collected.kept_files += 1;
            live_ids.insert(name.rsplit_once('.').map_or(name, |(id, _)| id).to_owned());
        } else {
            store.delete(&listed.key).await?;
            gone(&mut collected, listed);
        }
        progress(done as u64 + 1, total);
    }
    // Resized copies of files that are gone.
    for listed in store.list("resized").await? {
        let id = listed.key.split('/').nth(1).unwrap_or_default();
        if !live_ids.contains(id) {
            store.delete(&listed.key).await?;
            gone(&mut collected, &listed);
        }
    }
    // Uploads that never finished (a crash mid-upload).
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for listed in store.list("tmp").await? {
        if listed.modified < hour_ago {
            store.delete(&listed.key).await?;
            gone(&mut collected, &listed);
        }
    }
    Ok(collected)
}
