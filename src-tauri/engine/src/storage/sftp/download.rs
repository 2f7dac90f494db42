//! Downloads: the file opened for reading and streamed into the caller's writer in 1 MiB
//! reads (libssh2 keeps the read requests of one call in flight, as it does for writes).

use std::io::Write;
use std::path::Path;

use super::errors::{self, FX_NO_SUCH_FILE};
use super::session::SftpSession;
use crate::error::Result;
use crate::storage::download::{copy_out, CopyFailure};
use crate::storage::{not_found, RemotePath};

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
        let mut file = match self.sftp.open(&remote) {
            Ok(file) => file,
            // Also a missing folder: OpenSSH says "no such file" for either.
            Err(e) if errors::sftp_status(&e) == Some(FX_NO_SUCH_FILE) => {
                return Err(not_found(&shown))
            }
            Err(e) => return Err(self.fail(e, "read", &shown)),
        };
        let copied = match copy_out(&mut file, out, progress, &shown) {
            Ok(n) => Ok(n),
            Err(CopyFailure::Write(error)) => Err(Ok(error)),
            // While the session still remembers the read's failure (closing may replace it).
            Err(CopyFailure::Read(e)) => Err(Err(errors::from_io(&self.ssh, &e))),
        };
        drop(file);
        match copied {
            Ok(n) => Ok(n),
            Err(Ok(error)) => Err(error),
            // OpenSSH opens a folder like a file and fails the read without saying why.
            Err(Err(e)) if !errors::is_transport(&e) && self.is_folder(&remote, &shown)? => {
                Err(not_found(&shown))
            }
            Err(Err(e)) => Err(self.fail(e, "read", &shown)),
        }
    }

    fn is_folder(&mut self, remote: &Path, shown: &str) -> Result<bool> {
        Ok(self.lstat(remote, shown)?.is_some_and(|st| st.is_dir()))
    }
}
