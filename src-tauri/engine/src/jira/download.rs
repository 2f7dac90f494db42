//! Downloading binary content (attachments, avatars) to a local file: streamed, resumed with
//! `Range` after a dropped connection instead of starting over, and never sending Jira
//! credentials to another origin (attachments are asked for with `redirect=false`; public
//! avatar URLs are fetched with a client that has no credentials at all).

use std::path::Path;

use std::io::{Seek, SeekFrom, Write};

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use super::client::status_error;
use super::JiraClient;
use crate::checksum::{Digest, Sha256};
use crate::error::{Error, ErrorKind, Result};

/// A finished download: its size, and the SHA-256 and CRC-32 of exactly the bytes Jira sent,
/// computed as they arrived (across resumed connections), so the snapshot records what Jira
/// served, the ZIP writer can copy the file without reading it, and verification later proves
/// the copy in the ZIP is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    pub sha256: Digest,
    pub crc32: u32,
}

fn io_error(e: std::io::Error, dest: &Path) -> Error {
    let full = e.raw_os_error() == Some(28); // ENOSPC
    Error::new(
        ErrorKind::Internal,
        if full {
            format!("Not enough disk space to download into {}.", dest.display())
        } else {
            format!("Could not write the download to {}.", dest.display())
        },
    )
    .with_source(e)
}

impl JiraClient {
    /// Downloads a Jira path (authenticated, same origin) to `dest`, resuming after dropped
    /// connections.
    pub async fn download(
        &self,
        path: &str,
        dest: &Path,
        what: &str,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded> {
        self.download_from(Some(path), None, dest, what, on_bytes)
            .await
    }

    /// Downloads a public URL (another origin: no credentials are sent) to `dest`.
    pub async fn download_public(
        &self,
        url: &str,
        dest: &Path,
        what: &str,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded> {
        self.download_from(None, Some(url), dest, what, on_bytes)
            .await
    }

    async fn download_from(
        &self,
        path: Option<&str>,
        url: Option<&str>,
        dest: &Path,
        what: &str,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded> {
        let file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| io_error(e, dest))?;
        let mut staging = Staging {
            file: Some(file.into_std().await),
            hasher: Sha256::new(),
            crc: crc32fast::Hasher::new(),
            pending: Vec::new(),
            pending_len: 0,
        };
        let mut have: u64 = 0;
        let mut failures = 0u32;
        loop {
            let permit = self.throttle().acquire().await;
            let mut req = match (path, url) {
                (Some(p), _) => self.authed(reqwest::Method::GET, p),
                (None, Some(u)) => self.anonymous(u),
                (None, None) => return Err(Error::internal("download without a source")),
            };
            if have > 0 {
                req = req.header(RANGE, format!("bytes={have}-"));
            }
            let attempt = async {
                let resp = req.send().await.map_err(|e| self.transport(e, what))?;
                let status = resp.status();
                match status {
                    StatusCode::OK if have > 0 => {
                        // The server ignored the Range: start over.
                        staging.restart().await.map_err(|e| io_error(e, dest))?;
                        have = 0;
                    }
                    StatusCode::OK => {}
                    StatusCode::PARTIAL_CONTENT if resp.headers().get(CONTENT_RANGE).is_some() => {}
                    StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(true),
                    _ => {
                        let headers = resp.headers().clone();
                        let body = resp.bytes().await.unwrap_or_default();
                        return Err(status_error(status, &headers, &body, self.site(), what));
                    }
                }
                let mut stream = resp.bytes_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => {
                            // Keep what arrived: the retry resumes after it.
                            staging.drain().await.map_err(|e| io_error(e, dest))?;
                            return Err(self.transport(e, what));
                        }
                    };
                    have += chunk.len() as u64;
                    on_bytes(chunk.len() as u64);
                    staging.push(chunk).await.map_err(|e| io_error(e, dest))?;
                }
                // What arrived stays counted if the connection drops: the next attempt asks
                // for the rest with Range.
                staging.drain().await.map_err(|e| io_error(e, dest))?;
                Ok(true)
            }
            .await;
            drop(permit);
            match attempt {
                Ok(_) => break,
                Err(e) if e.is_transient() && failures < self.options().max_retries => {
                    failures += 1;
                    tracing::debug!(what, have, attempt = failures, error = %e.log_line(), "download interrupted; resuming");
                    tokio::time::sleep(self.throttle().backoff(failures - 1, 0.5)).await;
                }
                Err(e) => return Err(e),
            }
        }
        // No fsync: the file is a staging copy, read back at once into the snapshot, which is
        // itself synced before it is verified and renamed. Syncing here cost 30x throughput.
        staging.drain().await.map_err(|e| io_error(e, dest))?;
        Ok(Downloaded {
            size: have,
            sha256: staging.hasher.finish(),
            crc32: staging.crc.finalize(),
        })
    }
}

/// The download's file and checksums. Body chunks (reference-counted, never copied) gather
/// until about 1 MiB, then one blocking-pool task writes and hashes them: the async threads
/// only move pointers, and hashing runs beside the network instead of on its threads.
struct Staging {
    /// Lent to the blocking task while it runs.
    file: Option<std::fs::File>,
    hasher: Sha256,
    crc: crc32fast::Hasher,
    pending: Vec<Bytes>,
    pending_len: usize,
}

const STAGE_BATCH: usize = 1 << 20;

impl Staging {
    async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.pending_len >= STAGE_BATCH {
            self.drain().await?;
        }
        Ok(())
    }

    /// Writes and hashes what is pending.
    async fn drain(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let mut file = self.file.take().ok_or_else(gone)?;
        let (mut hasher, mut crc) = (
            std::mem::take(&mut self.hasher),
            std::mem::take(&mut self.crc),
        );
        let (file, hasher, crc, written) = tokio::task::spawn_blocking(move || {
            let mut written = Ok(());
            for c in &chunks {
                hasher.update(c);
                crc.update(c);
                if written.is_ok() {
                    written = file.write_all(c);
                }
            }
            (file, hasher, crc, written)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.file = Some(file);
        self.hasher = hasher;
        self.crc = crc;
        written
    }

    /// Empties the file and the checksums (the server ignored a Range).
    async fn restart(&mut self) -> std::io::Result<()> {
        self.pending.clear();
        self.pending_len = 0;
        self.hasher = Sha256::new();
        self.crc = crc32fast::Hasher::new();
        let mut file = self.file.take().ok_or_else(gone)?;
        let (file, result) = tokio::task::spawn_blocking(move || {
            let r = file
                .set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop));
            (file, r)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.file = Some(file);
        result
    }
}

fn gone() -> std::io::Error {
    std::io::Error::other("the download file was lost after an earlier failure")
}
