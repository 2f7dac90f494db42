//! Uploading: stream to a temporary name with many write requests in flight, sync, rename,
//! confirm the size; and continuing an upload that was interrupted.
//!
//! # Resuming
//! [`Session::put_resuming`] goes through the mechanism every destination shares
//! (`storage/resume.rs`): a temporary of the same final name whose last 256 KiB match the
//! backup is opened for writing without truncating, and only the rest is sent; one that
//! differs is removed. This module provides the two primitives ([`Temporaries`]): reading a
//! temporary's tail, and removing one. What is kept after a failure is the contract on
//! [`Session::put_resuming`].
//!
//! [`Session::put_resuming`]: crate::storage::Session::put_resuming

use std::collections::VecDeque;
use std::task::Poll;

use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};

use super::download::Stop;
use super::errors::{self, within, Fault};
use super::session::{modified, SftpSession};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::resume::{self, Failure, Source, Temporaries};
use crate::storage::{
    backup_name, exists_error, format_bytes, missing_is_empty, names, not_enough_storage,
    read_chunk, size_mismatch, BackupFile, RemotePath,
};

/// One read from the source.
pub(super) const CHUNK: usize = 1 << 20;

/// How much may be sent and not yet acknowledged: enough to keep OpenSSH's 2 MiB channel
/// window full while acknowledgements travel back. (The I/O timeout runs from one
/// acknowledgement to the next, so this does not shorten what a slow uplink may take.)
const IN_FLIGHT: usize = 4 * CHUNK;

/// The server refused a write or the connection broke, after `written` bytes of this upload.
struct WriteFailed {
    error: Fault,
    written: u64,
}

impl SftpSession {
    /// Stores `source` at `path` (see [`Session::put`] and [`Session::put_resuming`]).
    ///
    /// [`Session::put`]: crate::storage::Session::put
    /// [`Session::put_resuming`]: crate::storage::Session::put_resuming
    pub(super) fn upload(
        &mut self,
        path: &RemotePath,
        mut source: Source<'_>,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        self.usable()?;
        let name = backup_name(path)?;
        let dir = path.parent();
        let (final_remote, final_shown, dir_shown) =
            (self.remote(path), self.shown(path), self.shown(&dir));
        if self.lstat(&final_remote, &final_shown)?.is_some() {
            return Err(exists_error(&final_shown));
        }
        let free = self.disk_free(&dir)?;
        let resumed = match &mut source {
            Source::Resumable(r) => {
                // A missing folder is reported by the upload itself.
                let listed = missing_is_empty(self.entries(&dir, true))?
                    .into_iter()
                    .map(|(temp, st)| (temp, st.size.unwrap_or(0)));
                let candidates = resume::candidates(listed, &name, size_hint);
                resume::find_resumable(self, &dir, candidates, &mut **r, &dir_shown)?
            }
            Source::Plain(_) => None,
        };
        let offset = resumed.as_ref().map_or(0, |(_, size)| *size);
        if let (Some(hint), Some(free)) = (size_hint, free) {
            let needed = hint.saturating_sub(offset);
            if needed > free {
                return Err(
                    not_enough_storage(Some(needed), Some(free)).with_context("target", dir_shown)
                );
            }
        }

        let temp_name = match &resumed {
            Some((temp, _)) => temp.clone(),
            None => names::temporary_name(&name),
        };
        let temp = self.remote(&dir.join(&temp_name)?);
        // Backups hold a whole Jira site: readable by the login user only.
        let attrs = FileAttributes {
            permissions: Some(0o600),
            ..FileAttributes::empty()
        };
        let flags = match resumed {
            // Write where the last attempt stopped; no truncation.
            Some(_) => OpenFlags::WRITE,
            None => OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE,
        };
        let handle = match self.wait(self.sftp.open(temp.as_str(), flags, attrs)) {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(e, "write to", &dir_shown)),
        };
        tracing::debug!(target: "storage", %temp, offset, "sftp upload");

        let (io, limits) = (self.peer.io_timeout, self.limits);
        let streamed = self.rt.block_on(async {
            let sent = send(
                &self.sftp,
                &handle,
                offset,
                &mut source,
                &dir_shown,
                io,
                limits.write_len,
            )
            .await;
            // Durable before it gets its final name (servers without fsync@openssh.com
            // skip this).
            let failed =
                |written| move |error| Failure::Destination(WriteFailed { error, written });
            let synced = match sent {
                Ok(n) if limits.fsync => within(io, self.sftp.fsync(handle.as_str()))
                    .await
                    .map(|_| n)
                    .map_err(failed(n)),
                other => other,
            };
            if let Err(Failure::Destination(WriteFailed { error, .. })) = &synced {
                if errors::is_transport(error) {
                    return synced;
                }
            }
            // Closing also reports a write the server could not finish (a full disk).
            let closed = within(io, self.sftp.close(handle.as_str())).await;
            match (synced, closed) {
                (Ok(n), Err(error)) => Err(failed(n)(error)),
                (synced, _) => synced,
            }
        });
        let written = match streamed {
            Ok(n) => n,
            Err(failure) => {
                let keep = source.keeps_temporary(&failure);
                let error = match failure {
                    Failure::Source(e) => e,
                    Failure::Destination(WriteFailed { error, written }) => {
                        self.write_failure(error, &dir, offset + written, size_hint, free)
                    }
                };
                if !keep {
                    self.discard(&temp);
                }
                return Err(error);
            }
        };
        let total = offset + written;
        if let Err(e) = self.rename_no_clobber(&temp, &final_remote, &final_shown, &dir_shown) {
            self.discard(&temp);
            return Err(e);
        }
        let Some(stat) = self.lstat(&final_remote, &final_shown)? else {
            return Err(size_mismatch(&final_shown, None, total));
        };
        let stored = stat.size.unwrap_or(0);
        if stored != total {
            self.discard(&final_remote);
            return Err(size_mismatch(&final_shown, Some(stored), total));
        }
        Ok(BackupFile {
            name,
            size: total,
            modified: modified(&stat),
        })
    }

    /// What a failed write (or fsync) means. OpenSSH answers a full disk with a bare
    /// `SSH_FX_FAILURE`; the free space tells a full disk from a quota or size limit.
    fn write_failure(
        &mut self,
        e: Fault,
        dir: &RemotePath,
        written: u64,
        hint: Option<u64>,
        free_before: Option<u64>,
    ) -> Error {
        let dir_shown = self.shown(dir);
        let status = errors::sftp_status(&e);
        if errors::is_transport(&e) || status != Some(StatusCode::Failure) {
            // Transport failures; a mapped status (permission, SSH_FX_NO_SPACE_ON_FILESYSTEM).
            return self.fail(e, "write to", &dir_shown);
        }
        // Without a size hint all we know is "more than was written": no figure beats a
        // misleading one.
        let needed = hint.filter(|&h| h > written);
        let free_now = self.disk_free(dir).ok().flatten();
        let full = not_enough_storage(needed, free_before);
        let error = match free_now {
            Some(free) if free >= 2 * CHUNK as u64 => Error::new(
                ErrorKind::StorageFull,
                format!(
                    "{} The server refused to write after {} without saying why, while its \
                     disk shows {} free: a per-user quota or a file size limit on the server \
                     is the likely cause.",
                    full.message(),
                    format_bytes(written),
                    format_bytes(free)
                ),
            ),
            _ => full,
        };
        error
            .with_context("target", dir_shown)
            .with_context("sftp_error", e.to_string())
            .with_source(e)
    }
}

impl Temporaries for SftpSession {
    fn read_temporary(
        &mut self,
        dir: &RemotePath,
        temp: &str,
        offset: u64,
    ) -> Result<Option<Vec<u8>>> {
        let remote = self.remote(&dir.join(temp)?);
        let shown = self.shown(dir);
        let mut held = Vec::new();
        match self.read_file(&remote, offset, &mut held, &mut |_| {}, &shown) {
            Ok(_) => Ok(Some(held)),
            Err(Stop::Read(e)) if errors::is_transport(&e) => Err(self.fail(e, "read", &shown)),
            Err(_) => Ok(None),
        }
    }

    fn discard_temporary(&mut self, dir: &RemotePath, temp: &str) {
        if let Ok(path) = dir.join(temp) {
            let remote = self.remote(&path);
            self.discard(&remote);
        }
    }
}

/// Copies the source into the open file `handle` from `offset` on; the bytes the server
/// acknowledged.
///
/// The source is read on this (the calling) thread in [`CHUNK`]s and cut into write
/// requests of `write_len`, each sent as soon as it is made; up to [`IN_FLIGHT`] bytes are
/// sent and unacknowledged at a time, so data is always on the way while the session's
/// worker thread encrypts, as OpenSSH's `sftp` keeps 64 requests in flight. Acknowledgements
/// are taken oldest first: a refused write stops the upload at the bytes before it. The I/O
/// timeout applies to each acknowledgement. When the source fails, what it delivered is
/// still stored (a resumed upload continues there) before the failure is reported.
async fn send(
    sftp: &RawSftpSession,
    handle: &str,
    offset: u64,
    source: &mut Source<'_>,
    shown: &str,
    io: std::time::Duration,
    write_len: usize,
) -> std::result::Result<u64, Failure<WriteFailed>> {
    let mut pending = VecDeque::new();
    let (mut in_flight, mut at, mut written) = (0usize, offset, 0u64);
    let mut buf = vec![0u8; CHUNK];
    let (mut ended, mut source_failed) = (false, None);
    loop {
        while !ended && in_flight + CHUNK <= IN_FLIGHT {
            let n = match fill(source, &mut buf, shown) {
                Ok(n) => n,
                Err(e) => {
                    source_failed = Some(e);
                    0
                }
            };
            ended = n < CHUNK;
            for piece in buf[..n].chunks(write_len) {
                let mut request = Box::pin(sftp.write(handle, at, piece.to_vec()));
                // Polled once, the request leaves now; its answer is awaited in turn below.
                let early = match futures::poll!(request.as_mut()) {
                    Poll::Ready(answer) => Some(answer),
                    Poll::Pending => None,
                };
                pending.push_back((request, early, piece.len()));
                at += piece.len() as u64;
                in_flight += piece.len();
            }
        }
        let Some((request, early, len)) = pending.pop_front() else {
            break;
        };
        let answer = match early {
            Some(answer) => answer.map_err(Fault::from),
            None => within(io, request).await,
        };
        if let Err(error) = answer {
            return Err(Failure::Destination(WriteFailed { error, written }));
        }
        written += len as u64;
        in_flight -= len;
    }
    match source_failed {
        Some(e) => Err(Failure::Source(e)),
        None => Ok(written),
    }
}

/// Reads until `buf` is full or the source ends: every write but the last is a full chunk,
/// whatever sizes the source reads in.
fn fill(source: &mut Source<'_>, buf: &mut [u8], shown: &str) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_chunk(source, &mut buf[filled..], shown)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
