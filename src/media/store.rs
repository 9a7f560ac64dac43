//! Where media files live: a folder (the data folder's `media/` by default) or an
//! S3-compatible bucket (`--media-url s3://bucket/prefix`), with the same keys in both:
//! originals under `originals/<id>.<ext>`, resized copies under
//! `resized/<id>/<copy>.<ext>`. A file is written whole or not at all: on disk it is
//! written to `tmp/`, synced, and renamed into place (files 0600, folders 0700); a
//! bucket's PUT is whole when it answers. Uploads are received into a local `tmp/`
//! either way.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::bucket::Bucket;
pub use super::bucket::Listed;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct MediaStore {
    backend: Backend,
    /// Where uploads and copies are written before they are kept.
    tmp: PathBuf,
    resizing: Arc<Semaphore>,
}

#[derive(Debug, Clone)]
enum Backend {
    Disk(PathBuf),
    Bucket(Bucket),
}

/// Resizes at once, per instance.
const RESIZES_AT_ONCE: usize = 2;

/// A file being written, removed unless `keep` moves it into place.
pub struct Incoming {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Incoming {
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(bytes),
            None => Ok(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.file.is_some() || self.path.exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// The key of an original.
pub fn original(id: &str, extension: &str) -> String {
    format!("originals/{id}.{extension}")
}

/// The key of a resized (or trimmed) copy, named by what it shows.
pub fn copy(id: &str, name: &str, extension: &str) -> String {
    format!("resized/{id}/{name}.{extension}")
}

fn key_is_copy(path: &Path) -> bool {
    path.parent()
        .and_then(Path::parent)
        .is_some_and(|folder| folder.ends_with("resized"))
}

fn copies_of(id: &str) -> String {
    format!("resized/{id}")
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> AppResult<T> {
    Ok(tokio::task::spawn_blocking(work)
        .await
        .map_err(super::blocking_failed)??)
}

fn not_found_as(err: std::io::Error) -> AppError {
    if err.kind() == std::io::ErrorKind::NotFound {
        AppError::NotFound
    } else {
        err.into()
    }
}

impl MediaStore {
    /// Files in `root`.
    pub fn new(root: PathBuf) -> Self {
        MediaStore {
            tmp: root.join("tmp"),
            backend: Backend::Disk(root),
            resizing: Arc::new(Semaphore::new(RESIZES_AT_ONCE)),
        }
    }

    /// Files in a bucket; uploads are received in `tmp`.
    pub fn in_bucket(bucket: Bucket, tmp: PathBuf) -> Self {
        MediaStore {
            tmp,
            backend: Backend::Bucket(bucket),
            resizing: Arc::new(Semaphore::new(RESIZES_AT_ONCE)),
        }
    }

    /// `--media-url`: `s3://bucket/prefix` (settings from the usual `AWS_*` variables),
    /// or nothing for the folder `default_root`.
    pub fn from_url(url: Option<&str>, default_root: PathBuf) -> Result<Self, String> {
        match url {
            None => Ok(MediaStore::new(default_root)),
            Some(url) => {
                let bucket = Bucket::from_url(url)?;
                Ok(MediaStore::in_bucket(bucket, default_root.join("tmp")))
            }
        }
    }

    pub fn resizing(&self) -> &Arc<Semaphore> {
        &self.resizing
    }

    /// The file behind `key` when the store is a folder (delivered straight from it).
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        match &self.backend {
            Backend::Disk(root) => Some(root.join(key)),
            Backend::Bucket(_) => None,
        }
    }

    pub fn bucket(&self) -> Option<&Bucket> {
        match &self.backend {
            Backend::Bucket(bucket) => Some(bucket),
            Backend::Disk(_) => None,
        }
    }

    /// A new temporary file for an upload or a resized copy.
    pub fn incoming(&self) -> std::io::Result<Incoming> {
        private_dir(&self.tmp)?;
        let path = self.tmp.join(uuid::Uuid::new_v4().simple().to_string());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(Incoming {
            path,
            file: Some(file),
        })
    }

    /// Makes `incoming` the file at `key` for good (synced on disk; a bucket's PUT).
    pub async fn keep(&self, mut incoming: Incoming, key: &str) -> AppResult<()> {
        match &self.backend {
            Backend::Disk(root) => {
                let target = root.join(key);
                blocking(move || {
                    if let Some(file) = incoming.file.take() {
                        file.sync_all()?;
                    }
                    let parent = target.parent().map(Path::to_owned).unwrap_or_default();
                    private_dir(&parent)?;
                    std::fs::rename(&incoming.path, &target)?;
                    sync_dir(&parent)
                })
                .await
            }
            Backend::Bucket(bucket) => {
                if let Some(file) = incoming.file.take() {
                    drop(file);
                }
                let path = incoming.path.clone();
                let bytes = blocking(move || std::fs::read(path)).await?;
                bucket.put(key, bytes).await
            }
        }
    }

    /// Keeps `bytes` as the file at `key`.
    pub async fn keep_bytes(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        match &self.backend {
            Backend::Bucket(bucket) => bucket.put(key, bytes).await,
            Backend::Disk(_) => {
                let store = self.clone();
                let incoming = blocking(move || {
                    let mut incoming = store.incoming()?;
                    incoming.write(&bytes)?;
                    Ok(incoming)
                })
                .await?;
                self.keep(incoming, key).await
            }
        }
    }

    /// The first `limit` bytes of the file at `key` (`NotFound` when it is not there).
    pub async fn head(&self, key: &str, limit: usize) -> AppResult<Vec<u8>> {
        match &self.backend {
            Backend::Disk(root) => {
                use tokio::io::AsyncReadExt;
                let file = tokio::fs::File::open(root.join(key))
                    .await
                    .map_err(not_found_as)?;
                let mut head = Vec::with_capacity(limit);
                file.take(limit as u64).read_to_end(&mut head).await?;
                Ok(head)
            }
            Backend::Bucket(bucket) => bucket.head(key, limit).await,
        }
    }

    /// The whole file at `key`.
    pub async fn read(&self, key: &str) -> AppResult<Vec<u8>> {
        match &self.backend {
            Backend::Disk(root) => tokio::fs::read(root.join(key)).await.map_err(not_found_as),
            Backend::Bucket(bucket) => bucket.read(key).await,
        }
    }

    pub async fn exists(&self, key: &str) -> AppResult<bool> {
        match &self.backend {
            Backend::Disk(root) => Ok(tokio::fs::try_exists(root.join(key)).await.unwrap_or(false)),
            Backend::Bucket(bucket) => bucket.exists(key).await,
        }
    }

    /// How many resized copies of `id` are kept.
    pub async fn copy_count(&self, id: &str) -> AppResult<usize> {
        match &self.backend {
            Backend::Disk(root) => {
                Ok(std::fs::read_dir(root.join(copies_of(id))).map_or(0, |dir| dir.count()))
            }
            Backend::Bucket(bucket) => Ok(bucket.list(&copies_of(id)).await?.len()),
        }
    }

    /// Removes the original and every resized copy of `id` (whatever is there).
    pub async fn remove(&self, id: &str, extension: &str) -> AppResult<()> {
        match &self.backend {
            Backend::Disk(root) => {
                let (file, copies) = (root.join(original(id, extension)), root.join(copies_of(id)));
                blocking(move || {
                    match std::fs::remove_file(file) {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
                        _ => {}
                    }
                    match std::fs::remove_dir_all(copies) {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                        _ => Ok(()),
                    }
                })
                .await
            }
            Backend::Bucket(bucket) => {
                bucket.delete(&original(id, extension)).await?;
                for listed in bucket.list(&copies_of(id)).await? {
                    bucket.delete(&listed.key).await?;
                }
                Ok(())
            }
        }
    }

    /// Every file under `folder` (`originals`, `resized`, `tmp`), for `media gc`.
    pub async fn list(&self, folder: &str) -> AppResult<Vec<Listed>> {
        let root = match &self.backend {
            Backend::Bucket(bucket) if folder != "tmp" => return bucket.list(folder).await,
            Backend::Bucket(_) => self.tmp.parent().map(Path::to_owned).unwrap_or_default(),
            Backend::Disk(root) => root.clone(),
        };
        let folder = folder.to_owned();
        blocking(move || {
            let mut found = Vec::new();
            let mut pending = vec![root.join(&folder)];
            while let Some(dir) = pending.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.filter_map(Result::ok) {
                    let meta = entry.metadata()?;
                    if meta.is_dir() {
                        pending.push(entry.path());
                        continue;
                    }
                    let key = entry
                        .path()
                        .strip_prefix(&root)
                        .map_or_else(|_| String::new(), |p| p.to_string_lossy().into_owned());
                    found.push(Listed {
                        key,
                        size: meta.len(),
                        modified: meta.modified()?,
                    });
                }
            }
            Ok(found)
        })
        .await
    }

    /// Removes one listed file.
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match &self.backend {
            Backend::Bucket(bucket) if !key.starts_with("tmp/") => bucket.delete(key).await,
            _ => {
                let root = match &self.backend {
                    Backend::Disk(root) => root.clone(),
                    Backend::Bucket(_) => self.tmp.parent().map(Path::to_owned).unwrap_or_default(),
                };
                let path = root.join(key);
                blocking(move || {
                    match std::fs::remove_file(&path) {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
                        _ => {}
                    }
                    // A copy's folder goes with its last copy.
                    if key_is_copy(&path) {
                        let _ = path.parent().map(std::fs::remove_dir);
                    }
                    Ok(())
                })
                .await
            }
        }
    }
}
