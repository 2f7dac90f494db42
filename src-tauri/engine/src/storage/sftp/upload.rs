//! Uploading: stream to a temporary name in 1 MiB writes, sync, rename, confirm the size; and
//! continuing an upload that was interrupted.
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

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::mpsc;

use ssh2::{OpenFlags, OpenType};

use super::errors::{self, FX_FAILURE, FX_OP_UNSUPPORTED};
use super::session::{modified, SftpSession};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::resume::{self, Failure, Source, Temporaries};
use crate::storage::{
    backup_name, exists_error, format_bytes, missing_is_empty, names, not_enough_storage,
    read_chunk, size_mismatch, BackupFile, RemotePath,
};

/// One read from the source. libssh2 keeps only the packets of one write call in flight (see
/// notes/test-servers.md and [`send_window`]).
pub(super) const CHUNK: usize = 1 << 20;

/// The upload window: up to this much is handed to libssh2 at once (see [`send_window`]).
const WINDOW: usize = 8 * CHUNK;

/// The server refused a write or the connection broke, after `written` bytes of this upload.
struct WriteFailed {
    error: ssh2::Error,
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
        let opened = match resumed {
            // Write where the last attempt stopped; no truncation.
            Some(_) => self
                .sftp
                .open_mode(&temp, OpenFlags::WRITE, 0o600, OpenType::File)
                .and_then(|mut f| {
                    f.seek(SeekFrom::Start(offset))
                        .map_err(|_| ssh2::Error::unknown())?;
                    Ok(f)
                }),
            // Backups hold a whole Jira site: readable by the login user only.
            None => self.sftp.open_mode(
                &temp,
                OpenFlags::WRITE | OpenFlags::EXCLUSIVE,
                0o600,
                OpenType::File,
            ),
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => return Err(self.fail(e, "write to", &dir_shown)),
        };
        tracing::debug!(target: "storage", temp = %temp.display(), offset, "sftp upload");

        let streamed = stream(&mut file, &mut source, &dir_shown, &self.ssh).and_then(|n| {
            // Durable before it gets its final name (servers without fsync@openssh.com
            // skip this).
            match file.fsync() {
                Err(e) if errors::sftp_status(&e) != Some(FX_OP_UNSUPPORTED) => {
                    Err(Failure::Destination(WriteFailed {
                        error: e,
                        written: n,
                    }))
                }
                _ => Ok(n),
            }
        });
        drop(file);
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
        e: ssh2::Error,
        dir: &RemotePath,
        written: u64,
        hint: Option<u64>,
        free_before: Option<u64>,
    ) -> Error {
        let dir_shown = self.shown(dir);
        let status = errors::sftp_status(&e);
        if errors::is_transport(&e) || status != Some(FX_FAILURE) {
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
            .with_context("sftp_error", e.message().to_string())
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
        let mut file = match self
            .sftp
            .open_mode(&remote, OpenFlags::READ, 0, OpenType::File)
        {
            Ok(f) => f,
            Err(e) if errors::is_transport(&e) => return Err(self.fail(e, "read", &shown)),
            Err(_) => return Ok(None),
        };
        let mut held = Vec::new();
        let read = file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_to_end(&mut held));
        drop(file);
        match read {
            Ok(_) => Ok(Some(held)),
            Err(e) => match errors::from_io(&self.ssh, &e) {
                e if errors::is_transport(&e) => Err(self.fail(e, "read", &shown)),
                _ => Ok(None),
            },
        }
    }

    fn discard_temporary(&mut self, dir: &RemotePath, temp: &str) {
        if let Ok(path) = dir.join(temp) {
            let remote = self.remote(&path);
            self.discard(&remote);
        }
    }
}

/// Copies the source into `file`; the bytes the server acknowledged.
///
/// Two threads: this one reads the source (which need not be `Send`) in [`CHUNK`]s while a
/// scoped one hands them to libssh2 ([`send_window`]), so reading overlaps encrypting and
/// sending as OpenSSH's `sftp` + `ssh` pair does. When the source fails, what it delivered is
/// still stored (a resumed upload continues there) before the failure is reported.
fn stream(
    file: &mut ssh2::File,
    source: &mut Source<'_>,
    shown: &str,
    ssh: &ssh2::Session,
) -> std::result::Result<u64, Failure<WriteFailed>> {
    let (to_writer, chunks) = mpsc::sync_channel::<Vec<u8>>(2);
    let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
    // Chunks circulate: two queued, one being read, one being copied into the window.
    for _ in 0..4 {
        let _ = recycle.send(vec![0u8; CHUNK]);
    }
    let ssh = ssh.clone();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || send_window(file, chunks, recycle, &ssh));
        let mut source_failed = None;
        // No chunk left and none coming back: the writer stopped and reports why.
        while let Ok(mut chunk) = recycled.recv() {
            chunk.resize(CHUNK, 0);
            match fill(source, &mut chunk, shown) {
                Ok(n) => {
                    chunk.truncate(n);
                    // A closed channel: the writer failed and reports why.
                    if n == 0 || to_writer.send(chunk).is_err() || n < CHUNK {
                        break;
                    }
                }
                Err(e) => {
                    source_failed = Some(e);
                    break;
                }
            }
        }
        drop(to_writer);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        match source_failed {
            Some(e) => Err(Failure::Source(e)),
            None => Ok(written),
        }
    })
}

/// The sending half of [`stream`]: writes the chunks it receives until the channel closes.
///
/// libssh2 keeps in flight only what one write call hands it, and a call returns as soon as
/// the first of its packets is acknowledged; the caller then passes the rest again (already
/// sent, so libssh2 skips it) and so on. Writing 1 MiB buffers one after the other therefore
/// drains the pipeline to nothing at the end of every buffer. Instead the data goes through a
/// [`WINDOW`]: whenever a chunk fits behind the data not yet acknowledged it is added and
/// handed over with the next call, so libssh2 keeps megabytes in flight (the server's channel
/// window, 2 MiB with OpenSSH, is the limit). Only when the window is full does it wait for
/// everything to be acknowledged and start again at the front: one round trip per 8 MiB
/// instead of moving the unacknowledged data around.
fn send_window(
    file: &mut ssh2::File,
    chunks: mpsc::Receiver<Vec<u8>>,
    recycle: mpsc::Sender<Vec<u8>>,
    ssh: &ssh2::Session,
) -> std::result::Result<u64, Failure<WriteFailed>> {
    let mut window = vec![0u8; WINDOW];
    // window[start..end]: received, not yet acknowledged by the server;
    // window[start..handed]: what libssh2 has been given of it.
    let (mut start, mut handed, mut end) = (0usize, 0usize, 0usize);
    let mut closed = false;
    let mut written = 0u64;
    loop {
        if start == end {
            // Everything acknowledged: start again at the front, nothing to move.
            (start, handed, end) = (0, 0, 0);
        }
        while !closed && window.len() - end >= CHUNK {
            let next = if start == end {
                chunks.recv().ok()
            } else {
                // Data is waiting to be sent: take only what is already there.
                match chunks.try_recv() {
                    Ok(chunk) => Some(chunk),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => None,
                }
            };
            match next {
                Some(chunk) => {
                    window[end..end + chunk.len()].copy_from_slice(&chunk);
                    end += chunk.len();
                    let _ = recycle.send(chunk);
                }
                None => closed = true,
            }
        }
        if start == end {
            return Ok(written);
        }
        // One new chunk per call: libssh2 copies what is new into packets, and a chunk at a
        // time keeps that copy in the cache; sending blocks on the channel window anyway.
        handed = end.min(handed.max(start) + CHUNK);
        match file.write(&window[start..handed]) {
            Ok(0) => {
                return Err(Failure::Destination(WriteFailed {
                    error: ssh2::Error::unknown(),
                    written,
                }))
            }
            Ok(k) => {
                start += k;
                written += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Failure::Destination(WriteFailed {
                    error: errors::from_io(ssh, &e),
                    written,
                }))
            }
        }
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
