//! Where media files live: a folder (the data folder's `media/` by default), originals
//! under `originals/<id>.<ext>` and resized copies under `resized/<id>/<W>x<H>.<ext>`.
//! Every file is written to `tmp/`, synced, and renamed into place, so a file is either
//! whole or absent after a crash; files are 0600 and folders 0700.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
    resizing: Arc<Semaphore>,
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

impl MediaStore {
    pub fn new(root: PathBuf) -> Self {
        MediaStore {
            root,
            resizing: Arc::new(Semaphore::new(RESIZES_AT_ONCE)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn resizing(&self) -> &Arc<Semaphore> {
        &self.resizing
    }

    /// A new temporary file for an upload or a resized copy.
    pub fn incoming(&self) -> std::io::Result<Incoming> {
        let dir = self.root.join("tmp");
        private_dir(&dir)?;
        let path = dir.join(uuid::Uuid::new_v4().simple().to_string());
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

    /// Syncs `incoming` and moves it to `target` (synced too): then it is there for good.
    pub fn keep(&self, mut incoming: Incoming, target: &Path) -> std::io::Result<()> {
        if let Some(file) = incoming.file.take() {
            file.sync_all()?;
        }
        let parent = target.parent().unwrap_or(&self.root);
        private_dir(parent)?;
        std::fs::rename(&incoming.path, target)?;
        sync_dir(parent)
    }

    pub fn original(&self, id: &str, extension: &str) -> PathBuf {
        self.root
            .join("originals")
            .join(format!("{id}.{extension}"))
    }

    pub fn resized(&self, width: u32, height: u32, id: &str, extension: &str) -> PathBuf {
        self.resized_dir(id)
            .join(format!("{width}x{height}.{extension}"))
    }

    fn resized_dir(&self, id: &str) -> PathBuf {
        self.root.join("resized").join(id)
    }

    /// How many resized copies of `id` are kept.
    pub fn resized_count(&self, id: &str) -> usize {
        std::fs::read_dir(self.resized_dir(id)).map_or(0, |dir| dir.count())
    }

    /// Removes the original and every resized copy of `id` (whatever is there).
    pub fn remove(&self, id: &str, extension: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.original(id, extension)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        match std::fs::remove_dir_all(self.resized_dir(id)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}
