//! Files of deleted media: a deleted `_media` object is never delivered again, and each
//! instance removes its files once the delete has committed, looking every interval.

use sea_orm::{DatabaseConnection, FromQueryResult};

use super::{MediaStore, extension_in, is_plain_extension, select_media};
use crate::content::internal::MEDIA;
use crate::error::AppResult;

/// Removes the files of `_media` objects deleted since `since` (microseconds), and
/// returns the time to look from next. Deleted objects are never delivered; this frees
/// their space once the delete has committed.
pub async fn remove_deleted(
    db: &DatabaseConnection,
    store: &MediaStore,
    since: i64,
) -> AppResult<i64> {
    #[derive(FromQueryResult)]
    struct Deleted {
        object_id: String,
        data: String,
        deleted_at: i64,
    }
    let mut sql = select_media(db, ", deleted_at");
    sql.push(" AND deleted_at IS NOT NULL AND deleted_at >= ")
        .bind(since)
        // An id that is live again (an import into the account that deleted it) keeps
        // its files.
        .push(" AND NOT EXISTS (SELECT 1 FROM content_objects live WHERE live.content_type = ")
        .bind(MEDIA)
        .push(" AND live.object_id = content_objects.object_id AND live.deleted_at IS NULL)")
        .push(" ORDER BY deleted_at LIMIT 1000");
    let rows = Deleted::find_by_statement(sql.statement()).all(db).await?;
    let mut next = since;
    for row in rows {
        let extension = extension_in(&row.data);
        if is_plain_extension(&extension) {
            store.remove(&row.object_id, &extension).await?;
        }
        next = next.max(row.deleted_at);
    }
    Ok(next)
}

/// Runs `remove_deleted` every `interval` until `stop` resolves.
pub async fn run_removal(
    db: DatabaseConnection,
    store: MediaStore,
    interval: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut since = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match remove_deleted(&db, &store, since).await {
            Ok(next) => since = next,
            Err(err) => tracing::warn!(error = %err, "removing files of deleted media failed"),
        }
    }
}
