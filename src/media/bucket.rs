//! Media in an S3-compatible bucket (`--media-url s3://bucket/prefix`), through
//! `object_store`: every instance behind a load balancer sees the same files. The
//! endpoint, region and credentials come from the usual `AWS_*` variables
//! (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ALLOW_HTTP`).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};

use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Bucket {
    objects: Arc<dyn ObjectStore>,
    name: String,
    prefix: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.name, self.prefix)
    }
}

/// One stored file, as listed for `media gc`.
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

/// A part of a stored file being sent: bytes `start..end` of `size`.
pub struct Part {
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
    pub start: u64,
    pub end: u64,
    pub size: u64,
}

fn failed(err: object_store::Error) -> AppError {
    match err {
        object_store::Error::NotFound { .. } => AppError::NotFound,
        // The bucket's own message names no secret; it goes to the log, not the client.
        other => AppError::Internal(format!("media bucket: {other}")),
    }
}

/// A `Range` header with one range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); several
/// ranges, or nonsense, are answered with the whole file, as HTTP allows.
pub fn parse_range(header: &str) -> Option<GetRange> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, false) => Some(GetRange::Suffix(number(end)?)),
        (false, true) => Some(GetRange::Offset(number(start)?)),
        (false, false) => {
            let (start, end) = (number(start)?, number(end)?);
            (start <= end).then(|| GetRange::Bounded(start..end.saturating_add(1)))
        }
        (true, true) => None,
    }
}

impl Bucket {
    /// `s3://bucket` or `s3://bucket/prefix`, the rest from the environment.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or("--media-url must look like s3://bucket/prefix")?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if name.is_empty() {
            return Err("--media-url names no bucket".into());
        }
        let objects = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(name)
            .build()
            .map_err(|err| format!("--media-url: {err}"))?;
        Ok(Bucket {
            objects: Arc::new(objects),
            name: name.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn key(&self, key: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(key)
        } else {
            Key::from(format!("{}/{key}", self.prefix))
        }
    }

    /// A key as the store names it (without the prefix).
    fn unprefixed(&self, key: &Key) -> String {
        let key = key.as_ref();
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            key.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(key)
                .to_owned()
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> AppResult<()> {
        self.objects
            .put(&self.key(key), PutPayload::from(bytes))
            .await
            .map_err(failed)?;
        Ok(())
    }

    pub async fn head(&self, key: &str, limit: usize) -> AppResult<Vec<u8>> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..limit as u64)),
            ..GetOptions::default()
        };
        let got = self
            .objects
            .get_opts(&self.key(key), options)
            .await
            .map_err(failed)?;
        Ok(got.bytes().await.map_err(failed)?.to_vec())
    }

    pub async fn read(&self, key: &str) -> AppResult<Vec<u8>> {
        let got = self.objects.get(&self.key(key)).await.map_err(failed)?;
        Ok(got.bytes().await.map_err(failed)?.to_vec())
    }

    pub async fn exists(&self, key: &str) -> AppResult<bool> {
        match self.objects.head(&self.key(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(failed(err)),
        }
    }

    /// The file at `key`, or the asked part of it; `Err(size)` when the part is not in a
    /// file of that size (checked here, so a bucket's own failures stay failures).
    pub async fn open(&self, key: &str, range: Option<GetRange>) -> AppResult<Result<Part, u64>> {
        let key = self.key(key);
        if let Some(range) = &range {
            let size = self.objects.head(&key).await.map_err(failed)?.size;
            let inside = match range {
                GetRange::Bounded(r) => r.start < size,
                GetRange::Offset(start) => *start < size,
                GetRange::Suffix(n) => *n > 0 && size > 0,
            };
            if !inside {
                return Ok(Err(size));
            }
        }
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        let got = self.objects.get_opts(&key, options).await.map_err(failed)?;
        let (start, end, size) = (got.range.start, got.range.end, got.meta.size);
        let body = got
            .into_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other))
            .boxed();
        Ok(Ok(Part {
            body,
            start,
            end,
            size,
        }))
    }

    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match self.objects.delete(&self.key(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(failed(err)),
        }
    }

    /// Every file under `folder`.
    pub async fn list(&self, folder: &str) -> AppResult<Vec<Listed>> {
        let prefix = self.key(folder);
        let mut listing = self.objects.list(Some(&prefix));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(failed)?;
            found.push(Listed {
                key: self.unprefixed(&meta.location),
                size: meta.size,
                modified: meta.last_modified.into(),
            });
        }
        Ok(found)
    }
}
