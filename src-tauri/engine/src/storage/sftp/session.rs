//! An open SFTP connection: the [`Session`] operations other than uploading (see `upload.rs`).

use std::future::Future;
use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use russh::client;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, StatusCode};

use super::connect::{self, Client};
use super::errors::{self, Fault, Peer};
use super::{url_of, SftpDestination};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::resume::Source;
use crate::storage::{
    exists_error, missing_is_empty, names, not_found, BackupFile, ReadSeek, RemoteFolder,
    RemotePath, Session, Usage,
};

/// What the server takes in one request, and which OpenSSH extensions it offers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes per read request.
    pub read_len: usize,
    /// Bytes per write request.
    pub write_len: usize,
    /// `fsync@openssh.com`
    pub fsync: bool,
    /// `statvfs@openssh.com`
    pub statvfs: bool,
}

/// Every SFTP server takes 32 KiB requests (the draft's minimum); larger ones only where
/// `limits@openssh.com` says so, up to 256 KiB (OpenSSH offers 255 KiB).
const SAFE_LEN: usize = 32 * 1024;
const MAX_LEN: usize = 256 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_len: SAFE_LEN,
            write_len: SAFE_LEN,
            fsync: false,
            statvfs: false,
        }
    }
}

impl Limits {
    /// With what `limits@openssh.com` answered (0 means "no limit given"). Lengths are
    /// rounded down to a power of two (OpenSSH's 255 KiB becomes 128 KiB) so that requests
    /// tile the 1 MiB chunks uploads read and downloads report progress in.
    pub fn with_server_limits(self, read_len: u64, write_len: u64) -> Self {
        let pick = |len: u64| match usize::try_from(len) {
            Ok(0) | Err(_) => SAFE_LEN,
            Ok(n) => {
                let n = n.clamp(SAFE_LEN, MAX_LEN);
                1 << (usize::BITS - 1 - n.leading_zeros())
            }
        };
        Self {
            read_len: pick(read_len),
            write_len: pick(write_len),
            ..self
        }
    }
}

/// The live parts of a connection, as `connect` makes them.
pub(super) struct Connection {
    pub rt: tokio::runtime::Runtime,
    pub ssh: client::Handle<Client>,
    pub sftp: RawSftpSession,
    pub limits: Limits,
    pub cipher: String,
}

/// A live SFTP session on one destination. Not `Sync`: one run uses it at a time.
pub struct SftpSession {
    // Field order is drop order: the SFTP channel, the SSH connection, then the runtime
    // they run on.
    pub(super) sftp: RawSftpSession,
    pub(super) ssh: client::Handle<Client>,
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) limits: Limits,
    cipher: String,
    folder: RemoteFolder,
    url_base: String,
    pub(super) peer: Peer,
    /// Set once the connection failed or stalled: it cannot go on after that.
    pub(super) broken: bool,
}

impl std::fmt::Debug for SftpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpSession")
            .field("server", &self.peer.server)
            .field("folder", &self.folder)
            .field("broken", &self.broken)
            .finish()
    }
}

impl SftpSession {
    pub(super) fn new(c: Connection, dest: &SftpDestination, peer: Peer) -> Self {
        Self {
            sftp: c.sftp,
            ssh: c.ssh,
            rt: c.rt,
            limits: c.limits,
            cipher: c.cipher,
            folder: dest.folder.clone(),
            url_base: dest.url_base(),
            peer,
            broken: false,
        }
    }

    /// The cipher and MAC negotiated for uploads (client to server), e.g.
    /// `chacha20-poly1305@openssh.com` or `aes256-ctr/hmac-sha2-256`: for logs and the
    /// benchmark.
    pub fn upload_cipher(&self) -> String {
        self.cipher.clone()
    }

    /// Runs one request (or a few) to its answer, waiting at most the I/O timeout.
    pub(super) fn wait<T, E: Into<Fault>>(
        &self,
        f: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<T, Fault> {
        self.rt.block_on(errors::within(self.peer.io_timeout, f))
    }

    /// The server path of `path` (relative to the login directory unless the folder is
    /// absolute).
    pub(super) fn remote(&self, path: &RemotePath) -> String {
        self.folder.resolve(path)
    }

    /// `path` as the user sees it in messages: `sftp://backup@nas/~/jira/x.zip`.
    pub(super) fn shown(&self, path: &RemotePath) -> String {
        url_of(&self.url_base, &self.folder, path)
    }

    /// Refuses to use a connection that already failed.
    pub(super) fn usable(&self) -> Result<()> {
        if self.broken {
            return Err(Error::new(
                ErrorKind::Unreachable,
                format!(
                    "Connection to storage failed: the connection to {} was lost earlier in \
                     this session. The next run reconnects.",
                    self.peer.server
                ),
            ));
        }
        Ok(())
    }

    /// Maps a failure and remembers a lost connection.
    pub(super) fn fail(&mut self, e: Fault, action: &str, what: &str) -> Error {
        if errors::is_transport(&e) {
            self.broken = true;
        }
        errors::ssh_error(e, &self.peer, action, what)
    }

    /// `lstat`, with "no such file" as `None`.
    pub(super) fn lstat(&mut self, path: &str, what: &str) -> Result<Option<FileAttributes>> {
        match self.wait(self.sftp.lstat(path)) {
            Ok(st) => Ok(Some(st.attrs)),
            Err(e) if errors::sftp_status(&e) == Some(StatusCode::NoSuchFile) => Ok(None),
            Err(e) => Err(self.fail(e, "check", what)),
        }
    }

    /// Free space for us on the file system holding `dir` (or its nearest existing parent),
    /// from `statvfs@openssh.com`; `None` where the server cannot tell.
    pub(super) fn disk_free(&mut self, dir: &RemotePath) -> Result<Option<u64>> {
        if !self.limits.statvfs {
            return Ok(None);
        }
        let mut candidate = Some(dir.clone());
        while let Some(d) = candidate {
            let path = self.remote(&d);
            match self.wait(self.sftp.statvfs(path)) {
                Ok(st) => return Ok(Some(st.blocks_avail.saturating_mul(st.fragment_size))),
                Err(e) if errors::is_transport(&e) => {
                    return Err(self.fail(e, "read the free space of", &self.shown(&d)))
                }
                Err(e)
                    if errors::sftp_status(&e) == Some(StatusCode::NoSuchFile)
                        && !d.is_folder() =>
                {
                    candidate = Some(d.parent());
                }
                Err(_) => candidate = None,
            }
        }
        Ok(None)
    }

    /// Every entry of a folder: open, read until the server says the end, close.
    async fn read_dir(
        sftp: &RawSftpSession,
        path: String,
    ) -> std::result::Result<Vec<russh_sftp::protocol::File>, russh_sftp::client::error::Error>
    {
        let handle = sftp.opendir(path).await?.handle;
        let mut all = Vec::new();
        let read = loop {
            match sftp.readdir(handle.as_str()).await {
                Ok(name) => all.extend(name.files),
                Err(russh_sftp::client::error::Error::Status(s))
                    if s.status_code == StatusCode::Eof =>
                {
                    break Ok(())
                }
                Err(e) => break Err(e),
            }
        };
        let closed = sftp.close(handle).await;
        read?;
        closed?;
        Ok(all)
    }

    /// Our snapshots (or, with `temporaries`, our temporaries) directly in `dir`, unsorted,
    /// with their stats.
    pub(super) fn entries(
        &mut self,
        dir: &RemotePath,
        temporaries: bool,
    ) -> Result<Vec<(String, FileAttributes)>> {
        let path = self.remote(dir);
        let listing = match self.wait(Self::read_dir(&self.sftp, path)) {
            Ok(listing) => listing,
            Err(e) => return Err(self.fail(e, "list", &self.shown(dir))),
        };
        let ours = |name: &str| {
            if temporaries {
                names::is_temporary_name(name)
            } else {
                names::is_snapshot_name(name)
            }
        };
        Ok(listing
            .into_iter()
            .filter_map(|entry| {
                // A name that is not UTF-8 arrives with U+FFFD in it and matches none of ours.
                let st = entry.attrs;
                (ours(&entry.filename) && st.is_regular()).then_some((entry.filename, st))
            })
            .collect())
    }

    fn list_files(&mut self, dir: &RemotePath) -> Result<Vec<BackupFile>> {
        let mut files: Vec<BackupFile> = self
            .entries(dir, false)?
            .into_iter()
            .map(|(name, st)| BackupFile {
                name,
                size: st.size.unwrap_or(0),
                modified: modified(&st),
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Removes a file, best effort (cleaning up after a failure that is already reported).
    pub(super) fn discard(&mut self, path: &str) {
        if !self.broken {
            if let Err(e) = self.wait(self.sftp.remove(path)) {
                if errors::is_transport(&e) {
                    self.broken = true;
                }
            }
        }
    }

    /// Renames without overwriting: OpenSSH links the new name (which fails if it exists) and
    /// unlinks the old one; the `lstat` first gives the clear message in the common case.
    pub(super) fn rename_no_clobber(
        &mut self,
        from: &str,
        to: &str,
        to_shown: &str,
        what: &str,
    ) -> Result<()> {
        if self.lstat(to, to_shown)?.is_some() {
            return Err(exists_error(to_shown));
        }
        match self.wait(self.sftp.rename(from, to)) {
            Ok(_) => Ok(()),
            Err(e) if errors::sftp_status(&e) == Some(StatusCode::Failure) => {
                if self.lstat(to, to_shown)?.is_some() {
                    Err(exists_error(to_shown))
                } else {
                    Err(self.fail(e, "rename", what))
                }
            }
            Err(e) => Err(self.fail(e, "rename", what)),
        }
    }
}

pub(super) fn modified(st: &FileAttributes) -> Option<DateTime<Utc>> {
    st.mtime
        .and_then(|t| DateTime::from_timestamp(i64::from(t), 0))
}

impl Session for SftpSession {
    fn create_dir_all(&mut self, dir: &RemotePath) -> Result<()> {
        self.usable()?;
        let shown = self.shown(dir);
        // The common case, one round trip: it is there.
        let full = self.remote(dir);
        if let Some(st) = self.lstat(&full, &shown)? {
            if st.is_dir() {
                return Ok(());
            }
        }
        // Every part from the top: the folder's own parts, then `dir`'s.
        let parts: Vec<String> = self
            .folder
            .path()
            .segments()
            .chain(dir.segments())
            .map(str::to_string)
            .collect();
        let mut current = if self.folder.is_absolute() {
            "/".to_string()
        } else {
            String::new()
        };
        for part in parts {
            if !current.is_empty() && !current.ends_with('/') {
                current.push('/');
            }
            current.push_str(&part);
            match self.lstat(&current, &shown)? {
                Some(st) if st.is_dir() => continue,
                Some(_) => {
                    return Err(Error::new(
                        ErrorKind::StoragePath,
                        format!(
                            "Could not create the folder {shown}: {current} is a file, not a \
                             folder."
                        ),
                    ))
                }
                None => {}
            }
            let attrs = FileAttributes {
                permissions: Some(0o755),
                ..FileAttributes::empty()
            };
            if let Err(e) = self.wait(self.sftp.mkdir(current.as_str(), attrs)) {
                // Created meanwhile by someone else: fine.
                if !errors::is_transport(&e)
                    && self.lstat(&current, &shown)?.is_some_and(|st| st.is_dir())
                {
                    continue;
                }
                return Err(self.fail(e, "create the folder", &shown));
            }
        }
        Ok(())
    }

    fn put(
        &mut self,
        path: &RemotePath,
        data: &mut dyn Read,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        self.upload(path, Source::Plain(data), size_hint)
    }

    fn put_resuming(
        &mut self,
        path: &RemotePath,
        data: &mut dyn ReadSeek,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        self.upload(path, Source::Resumable(data), size_hint)
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<BackupFile>> {
        self.usable()?;
        self.list_files(dir)
    }

    fn get(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        self.retrieve(path, out, progress)
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        self.usable()?;
        let shown = self.shown(path);
        match self.wait(self.sftp.remove(self.remote(path))) {
            Ok(_) => Ok(()),
            Err(e) if errors::sftp_status(&e) == Some(StatusCode::NoSuchFile) => {
                Err(not_found(&shown))
            }
            Err(e) => Err(self.fail(e, "delete", &shown)),
        }
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        self.usable()?;
        let (from_shown, to_shown) = (self.shown(from), self.shown(to));
        let from = self.remote(from);
        if self.lstat(&from, &from_shown)?.is_none() {
            return Err(not_found(&from_shown));
        }
        self.rename_no_clobber(&from, &self.remote(to), &to_shown, &from_shown)
    }

    fn usage(&mut self) -> Result<Usage> {
        self.usable()?;
        let folder = RemotePath::folder();
        let used = missing_is_empty(self.list_files(&folder))?
            .iter()
            .map(|f| f.size)
            .sum();
        Ok(Usage {
            used,
            quota: None,
            disk_free: self.disk_free(&folder)?,
        })
    }

    fn cleanup_temporaries(&mut self, dir: &RemotePath, before: DateTime<Utc>) -> Result<usize> {
        self.usable()?;
        let temporaries = missing_is_empty(self.entries(dir, true))?;
        let mut removed = 0;
        for (name, st) in temporaries {
            let stale = modified(&st).is_some_and(|t| t < before);
            if !stale {
                continue;
            }
            let path = dir.join(&name)?;
            match self.wait(self.sftp.remove(self.remote(&path))) {
                Ok(_) => removed += 1,
                Err(e) if errors::sftp_status(&e) == Some(StatusCode::NoSuchFile) => {}
                Err(e) => return Err(self.fail(e, "delete a temporary file in", &self.shown(dir))),
            }
        }
        Ok(removed)
    }
}

impl Drop for SftpSession {
    fn drop(&mut self) {
        // Say goodbye, but never hang on a dead or stalled server for long.
        if !self.broken {
            let _ = self.sftp.close_session();
            self.rt.block_on(connect::disconnect(
                &self.ssh,
                std::time::Duration::from_secs(2),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lengths_follow_the_server_within_bounds() {
        // OpenSSH 9 offers 255 KiB reads and writes.
        let l = Limits::default().with_server_limits(261_120, 261_120);
        assert_eq!((l.read_len, l.write_len), (128 * 1024, 128 * 1024));
        let l = Limits::default().with_server_limits(0, 4096);
        assert_eq!(
            (l.read_len, l.write_len),
            (SAFE_LEN, SAFE_LEN),
            "no limit, tiny"
        );
        let l = Limits::default().with_server_limits(u64::MAX, 100 << 20);
        assert_eq!((l.read_len, l.write_len), (MAX_LEN, MAX_LEN));
    }
}
