//! Downloads: the file opened for reading and its parts requested ahead, several in flight
//! (as OpenSSH's `sftp get` does), written into the caller's writer in order.

use std::collections::VecDeque;
use std::io::Write;
use std::task::Poll;
use std::time::Duration;

use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};

use super::errors::{self, Fault};
use super::session::SftpSession;
use crate::error::{Error, Result};
use crate::storage::download::{save_error, CHUNK};
use crate::storage::{not_found, RemotePath};

/// How much is requested ahead of what has been written out.
const AHEAD: usize = 4 * CHUNK;

/// Why reading a file stopped: the server's side, or writing what was read.
pub(super) enum Stop {
    Read(Fault),
    Write(Error),
}

impl SftpSession {
    /// [`Session::get`](crate::storage::Session::get).
    pub(super) fn retrieve(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        self.usable()?;
        let shown = self.shown(path);
        let remote = self.remote(path);
        match self.read_file(&remote, 0, out, progress, &shown) {
            Ok(n) => Ok(n),
            Err(Stop::Write(error)) => Err(error),
            // Also a missing folder: OpenSSH says "no such file" for either.
            Err(Stop::Read(e)) if errors::sftp_status(&e) == Some(StatusCode::NoSuchFile) => {
                Err(not_found(&shown))
            }
            // OpenSSH opens a folder like a file and fails the read without saying why.
            Err(Stop::Read(e))
                if !errors::is_transport(&e)
                    && self.lstat(&remote, &shown)?.is_some_and(|st| st.is_dir()) =>
            {
                Err(not_found(&shown))
            }
            Err(Stop::Read(e)) => Err(self.fail(e, "read", &shown)),
        }
    }

    /// Opens `remote`, copies it from byte `from` to its end into `out` (see [`receive`]) and
    /// closes it; the bytes copied. `shown` names it in messages.
    pub(super) fn read_file(
        &self,
        remote: &str,
        from: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
        shown: &str,
    ) -> std::result::Result<u64, Stop> {
        let (io, len) = (self.peer.io_timeout, self.limits.read_len);
        self.rt.block_on(async {
            let open = self
                .sftp
                .open(remote, OpenFlags::READ, FileAttributes::empty());
            let handle = errors::within(io, open).await.map_err(Stop::Read)?.handle;
            let copied = receive(&self.sftp, &handle, from, out, progress, shown, io, len).await;
            // A lost or stalled connection would only make closing wait again.
            if !matches!(&copied, Err(Stop::Read(e)) if errors::is_transport(e)) {
                let _ = errors::within(io, self.sftp.close(handle.as_str())).await;
            }
            copied
        })
    }
}

/// Reads the file from byte `from` to its end into `out` in requests of `len`, each answer
/// awaited at most `io`; the bytes written. `progress` hears the total after every [`CHUNK`]
/// and at the end. A short answer (allowed by the protocol) drops the requests made beyond it
/// and asks again from where it ended.
#[allow(clippy::too_many_arguments)]
async fn receive(
    sftp: &RawSftpSession,
    handle: &str,
    from: u64,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
    shown: &str,
    io: Duration,
    len: usize,
) -> std::result::Result<u64, Stop> {
    let request_len = u32::try_from(len).unwrap_or(u32::MAX);
    let mut pending = VecDeque::new();
    let (mut next, mut total, mut reported) = (from, 0u64, 0u64);
    loop {
        while pending.len() * len < AHEAD {
            let mut request = Box::pin(sftp.read(handle, next, request_len));
            // Polled once, the request leaves now; its answer is awaited in turn below.
            let early = match futures::poll!(request.as_mut()) {
                Poll::Ready(answer) => Some(answer),
                Poll::Pending => None,
            };
            pending.push_back((request, early));
            next += len as u64;
        }
        let Some((request, early)) = pending.pop_front() else {
            break;
        };
        let answer = match early {
            Some(answer) => answer,
            None => tokio::time::timeout(io, request)
                .await
                .unwrap_or(Err(SftpError::Timeout)),
        };
        let data = match answer {
            Ok(data) if !data.data.is_empty() => data.data,
            Ok(_) => break,
            Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => break,
            Err(e) => return Err(Stop::Read(e.into())),
        };
        out.write_all(&data)
            .map_err(|e| Stop::Write(save_error(e, &format!("the copy of {shown}"))))?;
        total += data.len() as u64;
        if total - reported >= CHUNK as u64 {
            reported = total;
            progress(total);
        }
        if data.len() < len {
            pending.clear();
            next = from + total;
        }
    }
    if reported != total {
        progress(total);
    }
    Ok(total)
}
