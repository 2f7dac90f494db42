//! Uploads: stream to a temporary, rename it if the name is free, confirm the size; continue
//! an earlier attempt's temporary with `APPE` (the mechanism all destinations share,
//! `storage/resume.rs`: this module reads a temporary's tail with `REST` + `RETR`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rustls::{ClientConnection, StreamOwned};
use suppaftp::{DataStream, FtpError, TlsStream};

use super::list::EntryKind;
use super::reply::Op;
use super::session::{join, split, FtpSession};
use crate::error::{Error, Result};
use crate::storage::resume::{self, Failure, Source, Temporaries};
use crate::storage::{
    backup_name, exists_error, names, not_enough_storage, read_chunk, size_mismatch, BackupFile,
    RemotePath, Usage,
};

/// Write size: suppaftp hands each write straight to the socket (or to rustls, which cuts it
/// into 16 KiB records), so big writes keep the per-call cost out of the throughput.
const CHUNK: usize = 1 << 20;

impl FtpSession {
    /// Stores `data` at `path` through a temporary (see [`Session::put`] and
    /// [`Session::put_resuming`]).
    ///
    /// [`Session::put`]: crate::storage::Session::put
    /// [`Session::put_resuming`]: crate::storage::Session::put_resuming
    pub(super) fn upload(
        &mut self,
        path: &RemotePath,
        mut data: Source<'_>,
        hint: Option<u64>,
    ) -> Result<BackupFile> {
        self.alive()?;
        let name = backup_name(path)?;
        let dir = self.abs(&path.parent());
        let target = self.abs(path);
        if let Err(e) = self.cwd(&dir) {
            return Err(self.folder_error(e, &dir, "write to"));
        }
        if self.size_of(&target)?.is_some() {
            return Err(exists_error(&self.shown(&target)));
        }
        let quota_left = match self.quota {
            Some(quota) => {
                let usage = Usage {
                    used: self.used()?,
                    quota: Some(quota),
                    disk_free: None,
                };
                if let Some(needed) = hint {
                    usage.ensure_room(needed)?;
                }
                usage.available()
            }
            None => None,
        };
        let earlier = match &mut data {
            Source::Plain(_) => None,
            Source::Resumable(source) => {
                let listed = self
                    .entries(&dir)?
                    .into_iter()
                    .filter(|e| e.kind == EntryKind::File)
                    .filter_map(|e| Some((e.name, e.size?)));
                let candidates = resume::candidates(listed, &name, hint);
                let shown = self.shown(&dir);
                resume::find_resumable(self, &path.parent(), candidates, &mut **source, &shown)?
            }
        };
        let (temp, offset) = earlier.unwrap_or_else(|| (names::temporary_name(&name), 0));
        let temp = join(&dir, &temp);
        let limit = quota_left.map(|q| q.saturating_sub(offset));
        let sent = match self.send(&temp, offset, &mut data, limit, hint) {
            Ok(n) => n,
            Err(failure) => {
                let keep = data.keeps_temporary(&failure);
                if !keep {
                    self.discard(&temp);
                }
                return Err(match failure {
                    Failure::Source(e) | Failure::Destination(e) => e,
                });
            }
        };
        let total = offset + sent;
        let finished = self.finish(&temp, &target, total);
        if finished.is_err() {
            self.discard(&temp);
        }
        let modified = finished?;
        Ok(BackupFile {
            name,
            size: total,
            modified,
        })
    }

    /// Streams `data` to `temp` (`APPE` after `offset` bytes, or `STOR`); returns the bytes sent.
    fn send(
        &mut self,
        temp: &str,
        offset: u64,
        data: &mut dyn Read,
        limit: Option<u64>,
        hint: Option<u64>,
    ) -> std::result::Result<u64, Failure<Error>> {
        self.resumable().map_err(Failure::Destination)?;
        let opened = self.refusable(|ftp| {
            if offset > 0 {
                ftp.append_with_stream(temp)
            } else {
                ftp.put_with_stream(temp)
            }
        });
        // Messages name the folder: the temporary's name means nothing to the user.
        let (dir, _) = split(temp);
        let mut stream = opened.map_err(|e| Failure::Destination(self.map(e, Op::Upload, &dir)))?;
        let shown = self.shown(&dir);
        let mut buf = vec![0u8; CHUNK];
        let mut written = 0u64;
        let mut failure = None;
        let mut broken = None;
        loop {
            let n = match read_chunk(data, &mut buf, &shown) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    failure = Some(Failure::Source(e));
                    break;
                }
            };
            if limit.is_some_and(|l| written + n as u64 > l) {
                let needed = hint.unwrap_or(0).max(offset + written + n as u64);
                failure = Some(Failure::Destination(not_enough_storage(
                    Some(needed),
                    limit,
                )));
                break;
            }
            if let Err(io) = write_within(&mut stream, &buf[..n], self.server.io_timeout) {
                broken = Some(io);
                break;
            }
            written += n as u64;
        }
        // Close the data connection and read the transfer's outcome, also after a failure on
        // our side (the server then keeps a short temporary, removed by the caller).
        let closed = match broken {
            Some(io) => Err(io),
            None => close_data(stream),
        };
        let io = match closed {
            Ok(socket) => {
                let finalized = self.ftp.finalize_put_stream(socket);
                if let Some(failure) = failure {
                    return Err(failure);
                }
                finalized.map_err(|e| Failure::Destination(self.map(e, Op::Upload, &dir)))?;
                return Ok(written);
            }
            Err(io) => io,
        };
        // The server's reply says why it closed the data connection (disk full...); a
        // stalled server would not answer it either.
        let stalled = matches!(
            io.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        );
        let reply = match stalled {
            true => None,
            false => self.ftp.finalize_put_stream(std::io::sink()).err(),
        };
        Err(Failure::Destination(match reply {
            Some(e @ FtpError::UnexpectedResponse(_)) => self.map(e, Op::Upload, &dir),
            _ => self.map(FtpError::ConnectionError(io), Op::Upload, &dir),
        }))
    }

    /// Renames `temp` to `target` if that name is free and confirms the size; the time stored.
    fn finish(&mut self, temp: &str, target: &str, total: u64) -> Result<Option<DateTime<Utc>>> {
        if self.size_of(target)?.is_some() {
            return Err(exists_error(&self.shown(target)));
        }
        self.ftp
            .rename(temp, target)
            .map_err(|e| self.map(e, Op::Rename, target))?;
        let stored = self.size_of(target)?;
        if stored != Some(total) {
            let _ = self.ftp.rm(target);
            return Err(size_mismatch(&self.shown(target), stored, total));
        }
        Ok(self.modified(target))
    }

    /// The bytes of the file at `path` from `offset` to its end (`REST`, `RETR`).
    fn read_from(&mut self, path: &str, offset: usize) -> std::result::Result<Vec<u8>, FtpError> {
        self.ftp.resume_transfer(offset)?;
        let mut stream = self.refusable(|ftp| ftp.retr_as_stream(path))?;
        let mut held = Vec::new();
        // To the end: closing a data connection with unread data makes the kernel reset it.
        let read = stream.read_to_end(&mut held);
        let finalized = self.ftp.finalize_retr_stream(stream);
        read.map_err(FtpError::ConnectionError)?;
        finalized?;
        Ok(held)
    }

    /// Best effort: removes a temporary after a failure (a lost connection cannot; the next
    /// run's `cleanup_temporaries` does).
    fn discard(&mut self, temp: &str) {
        if self.broken.is_none() {
            let _ = self.ftp.rm(temp);
        }
    }
}

impl Temporaries for FtpSession {
    fn read_temporary(
        &mut self,
        dir: &RemotePath,
        temp: &str,
        offset: u64,
    ) -> Result<Option<Vec<u8>>> {
        let path = join(&self.abs(dir), temp);
        // suppaftp takes the offset as usize; a 32-bit build cannot continue past 4 GiB.
        let Ok(offset) = usize::try_from(offset) else {
            return Ok(None);
        };
        self.resumable()?;
        match self.read_from(&path, offset) {
            Ok(held) => Ok(Some(held)),
            Err(e) => {
                let error = self.map(e, Op::Inspect, &path);
                if self.broken.is_some() {
                    return Err(error);
                }
                tracing::debug!(target: "storage", error = %error.log_line(),
                    "a partial upload could not be read");
                // A REST the failed RETR left pending would move the next upload's start.
                let _ = self.ftp.resume_transfer(0);
                Ok(None)
            }
        }
    }

    fn discard_temporary(&mut self, dir: &RemotePath, temp: &str) {
        let path = join(&self.abs(dir), temp);
        self.discard(&path);
    }
}

/// Ends an upload's data connection so that the server reads every byte. For TLS: flush,
/// `close_notify`, shut our half of the TCP connection, then read what the server still sends
/// (TLS 1.3 session tickets) until it closes. Closing a socket with unread data makes the kernel
/// reset it, and the reset can overtake the last bytes in flight (vsftpd then answers
/// "426 Failure reading network stream").
fn close_data<S>(stream: DataStream<S>) -> std::io::Result<TcpStream>
where
    S: TlsStream<InnerStream = StreamOwned<ClientConnection, TcpStream>>,
{
    match stream {
        DataStream::Tcp(socket) => Ok(socket),
        DataStream::Ssl(mut tls) => {
            let inner = tls.mut_ref();
            inner.flush()?;
            inner.conn.send_close_notify();
            while inner.conn.wants_write() {
                inner.conn.write_tls(&mut inner.sock)?;
            }
            inner.sock.shutdown(Shutdown::Write)?;
            let mut scratch = [0u8; 4096];
            // Ends with Ok(0) at the server's close_notify, or an error at a bare close.
            while matches!(inner.read(&mut scratch), Ok(n) if n > 0) {}
            // The socket without suppaftp's second close_notify on drop.
            Ok(tls.tcp_stream())
        }
    }
}

/// Writes `buf` (one chunk) within `limit`, or fails with `TimedOut`. The socket's own write
/// timeout only bounds each call, and a stalled peer whose kernel still takes a few bytes now
/// and then would keep a plain `write_all` going for several timeouts.
fn write_within<S: TlsStream>(
    stream: &mut DataStream<S>,
    mut buf: &[u8],
    limit: Duration,
) -> std::io::Result<()> {
    let deadline = Instant::now() + limit;
    while !buf.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.get_ref().set_write_timeout(Some(left))?;
        match stream.write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
