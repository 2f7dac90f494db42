//! Downloading binary content (attachments, avatars) to a local file: streamed, resumed with
//! `Range` after a dropped connection instead of starting over, and never sending Jira
//! credentials to another origin (attachments are asked for with `redirect=false`; public
//! avatar URLs are fetched with a client that has no credentials at all).

use std::path::Path;

use futures::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::client::status_error;
use super::JiraClient;
use crate::checksum::{Digest, Sha256};
use crate::error::{Error, ErrorKind, Result};

/// A finished download: its size and the SHA-256 of exactly the bytes Jira sent, computed as
/// they arrived (across resumed connections), so the snapshot records what Jira served and
/// verification later proves the copy in the ZIP is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    pub sha256: Digest,
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
        // Buffered: the HTTP body arrives in small chunks, and every unbuffered write to a
        // tokio file is a round trip to the blocking pool.
        let mut file = tokio::io::BufWriter::with_capacity(
            1 << 20,
            tokio::fs::File::create(dest)
                .await
                .map_err(|e| io_error(e, dest))?,
        );
        let mut have: u64 = 0;
        let mut hasher = Sha256::new();
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
                        file.flush().await.map_err(|e| io_error(e, dest))?;
                        file.get_mut()
                            .set_len(0)
                            .await
                            .map_err(|e| io_error(e, dest))?;
                        file.seek(std::io::SeekFrom::Start(0))
                            .await
                            .map_err(|e| io_error(e, dest))?;
                        have = 0;
                        hasher = Sha256::new();
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
                    let chunk = chunk.map_err(|e| self.transport(e, what))?;
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| io_error(e, dest))?;
                    hasher.update(&chunk);
                    have += chunk.len() as u64;
                    on_bytes(chunk.len() as u64);
                }
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
        file.flush().await.map_err(|e| io_error(e, dest))?;
        Ok(Downloaded {
            size: have,
            sha256: hasher.finish(),
        })
    }
}
