//! Downloads: `RETR` streamed into the caller's writer, in the binary mode every session is in
//! from its login. The transfer is always finalized (the server's reply to `RETR` read), after
//! a failure too, so the control connection stays usable.

use std::io::{ErrorKind as IoKind, Write};

use suppaftp::FtpError;

use super::reply::{self, Op};
use super::session::FtpSession;
use crate::error::{ErrorKind, Result};
use crate::storage::download::{copy_out, CopyFailure};
use crate::storage::{not_found, RemotePath};

impl FtpSession {
    /// [`Session::get`](crate::storage::Session::get).
    pub(super) fn retrieve(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        self.alive()?;
        let abs = self.abs(path);
        let shown = self.shown(&abs);
        // Asked first where it is cheap: a refused `RETR` costs an FTPS session one of its
        // single-use TLS tickets (see `tickets.rs`), and running out means reconnecting.
        if self.features.size && self.size_of(&abs)?.is_none() {
            return Err(not_found(&shown));
        }
        self.resumable()?;
        let mut stream = match self.refusable(|ftp| ftp.retr_as_stream(&abs)) {
            Ok(stream) => stream,
            // vsftpd answers 550 both for a missing file and for one it may not read.
            Err(e) if reply::code(&e).is_some_and(|c| c == 550 || c == 450) => {
                return Err(match self.size_of(&abs) {
                    Ok(Some(_)) => self.map(e, Op::Download, &abs),
                    Ok(None) => not_found(&shown),
                    // Without SIZE the parent is listed: a missing folder, a missing file.
                    Err(missing) if missing.kind == ErrorKind::StoragePath => not_found(&shown),
                    Err(other) => other,
                });
            }
            Err(e) => return Err(self.map(e, Op::Download, &abs)),
        };
        let copied = copy_out(&mut stream, out, progress, &shown);
        match copied {
            Ok(n) => {
                // 226 once the server sent everything; 426 if it broke off (a short copy).
                self.ftp
                    .finalize_retr_stream(stream)
                    .map_err(|e| self.map(e, Op::Download, &abs))?;
                Ok(n)
            }
            Err(CopyFailure::Write(error)) => {
                // Closing the data connection early makes the server answer 426 (or 226 if it
                // had sent everything): read it to keep the control connection in step.
                if let Err(e) = self.ftp.finalize_retr_stream(stream) {
                    if !matches!(e, FtpError::UnexpectedResponse(_)) {
                        // Lost or stalled: remembered by `map`, reported as the write failure.
                        let _ = self.map(e, Op::Download, &abs);
                    }
                }
                Err(error)
            }
            Err(CopyFailure::Read(io)) => {
                // A stalled server would not answer either; otherwise its reply says why the
                // data connection broke.
                let stalled = matches!(io.kind(), IoKind::TimedOut | IoKind::WouldBlock);
                let reply = match stalled {
                    true => None,
                    false => self.ftp.finalize_retr_stream(stream).err(),
                };
                Err(match reply {
                    Some(e @ FtpError::UnexpectedResponse(_)) => self.map(e, Op::Download, &abs),
                    _ => self.map(FtpError::ConnectionError(io), Op::Download, &abs),
                })
            }
        }
    }
}
