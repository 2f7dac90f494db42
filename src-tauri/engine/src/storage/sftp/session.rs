//! An open SFTP connection: the [`Session`] operations other than uploading (see `upload.rs`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ssh2::{FileStat, OpenFlags, OpenType, RenameFlags};

use super::errors::{self, Peer, FX_FAILURE, FX_NO_SUCH_FILE};
use super::{url_of, SftpDestination};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::resume::Source;
use crate::storage::{
    exists_error, missing_is_empty, names, not_found, BackupFile, ReadSeek, RemoteFolder,
    RemotePath, Session, Usage,
};

/// A live SFTP session on one destination. Not `Sync`: one run uses it at a time.
pub struct SftpSession {
    // Field order is drop order: SFTP channel before the SSH session it runs in.
    pub(super) sftp: ssh2::Sftp,
    pub(super) ssh: ssh2::Session,
    folder: RemoteFolder,
    url_base: String,
    pub(super) peer: Peer,
    /// Set once the connection failed or stalled: libssh2 cannot go on after that.
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
    pub(super) fn new(
        ssh: ssh2::Session,
        sftp: ssh2::Sftp,
        dest: &SftpDestination,
        peer: Peer,
    ) -> Self {
        Self {
            sftp,
            ssh,
            folder: dest.folder.clone(),
            url_base: dest.url_base(),
            peer,
            broken: false,
        }
    }

    /// The cipher and MAC negotiated for uploads (client to server), e.g.
    /// `aes128-gcm@openssh.com` or `aes128-ctr/hmac-sha2-256`: for logs and the benchmark.
    pub fn upload_cipher(&self) -> String {
        let cipher = self.ssh.methods(ssh2::MethodType::CryptCs).unwrap_or("?");
        match self.ssh.methods(ssh2::MethodType::MacCs) {
            Some(mac) if !cipher.contains("gcm") && !cipher.contains("poly1305") => {
                format!("{cipher}/{mac}")
            }
            _ => cipher.to_string(),
        }
    }

    /// The server path of `path` (relative to the login directory unless the folder is
    /// absolute).
    pub(super) fn remote(&self, path: &RemotePath) -> PathBuf {
        PathBuf::from(self.folder.resolve(path))
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

    /// Maps an ssh2 failure and remembers a lost connection.
    pub(super) fn fail(&mut self, e: ssh2::Error, action: &str, what: &str) -> Error {
        if errors::is_transport(&e) {
            self.broken = true;
        }
        errors::ssh_error(e, &self.peer, action, what)
    }

    /// `lstat`, with "no such file" as `None`.
    pub(super) fn lstat(&mut self, path: &Path, what: &str) -> Result<Option<FileStat>> {
        match self.sftp.lstat(path) {
            Ok(st) => Ok(Some(st)),
            Err(e) if errors::sftp_status(&e) == Some(FX_NO_SUCH_FILE) => Ok(None),
            Err(e) => Err(self.fail(e, "check", what)),
        }
    }

    /// Free space for us on the file system holding `dir` (or its nearest existing parent),
    /// from `fstatvfs@openssh.com`; `None` where the server cannot tell.
    pub(super) fn disk_free(&mut self, dir: &RemotePath) -> Result<Option<u64>> {
        let mut candidate = Some(dir.clone());
        while let Some(d) = candidate {
            let path = self.remote(&d);
            // OpenSSH opens a folder as a file too; statvfs needs a file handle.
            match self
                .sftp
                .open_mode(&path, OpenFlags::READ, 0, OpenType::File)
            {
                Ok(mut handle) => {
                    return match handle.statvfs() {
                        Ok(st) => Ok(Some(st.f_bavail.saturating_mul(st.f_frsize))),
                        Err(e) if errors::is_transport(&e) => {
                            Err(self.fail(e, "read the free space of", &self.shown(&d)))
                        }
                        // statvfs@openssh.com not offered.
                        Err(_) => Ok(None),
                    };
                }
                Err(e) if errors::is_transport(&e) => {
                    return Err(self.fail(e, "read the free space of", &self.shown(&d)))
                }
                Err(e) if errors::sftp_status(&e) == Some(FX_NO_SUCH_FILE) && !d.is_folder() => {
                    candidate = Some(d.parent());
                }
                Err(_) => candidate = None,
            }
        }
        Ok(None)
    }

    /// Our snapshots (or, with `temporaries`, our temporaries) directly in `dir`, unsorted,
    /// with their stats.
    pub(super) fn entries(
        &mut self,
        dir: &RemotePath,
        temporaries: bool,
    ) -> Result<Vec<(String, FileStat)>> {
        let path = self.remote(dir);
        let listing = match self.sftp.readdir(&path) {
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
            .filter_map(|(p, st)| {
                // A name that is not UTF-8 was not written by us.
                let name = p.file_name()?.to_str()?.to_string();
                (ours(&name) && st.is_file()).then_some((name, st))
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
    pub(super) fn discard(&mut self, path: &Path) {
        if !self.broken {
            if let Err(e) = self.sftp.unlink(path) {
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
        from: &Path,
        to: &Path,
        to_shown: &str,
        what: &str,
    ) -> Result<()> {
        if self.lstat(to, to_shown)?.is_some() {
            return Err(exists_error(to_shown));
        }
        match self
            .sftp
            .rename(from, to, Some(RenameFlags::ATOMIC | RenameFlags::NATIVE))
        {
            Ok(()) => Ok(()),
            Err(e) if errors::sftp_status(&e) == Some(FX_FAILURE) => {
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

pub(super) fn modified(st: &FileStat) -> Option<DateTime<Utc>> {
    st.mtime
        .and_then(|t| i64::try_from(t).ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
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
            PathBuf::from("/")
        } else {
            PathBuf::new()
        };
        for part in parts {
            current.push(part);
            match self.lstat(&current, &shown)? {
                Some(st) if st.is_dir() => continue,
                Some(_) => {
                    return Err(Error::new(
                        ErrorKind::StoragePath,
                        format!(
                            "Could not create the folder {shown}: {} is a file, not a folder.",
                            current.display()
                        ),
                    ))
                }
                None => {}
            }
            if let Err(e) = self.sftp.mkdir(&current, 0o755) {
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
        match self.sftp.unlink(&self.remote(path)) {
            Ok(()) => Ok(()),
            Err(e) if errors::sftp_status(&e) == Some(FX_NO_SUCH_FILE) => Err(not_found(&shown)),
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
            match self.sftp.unlink(&self.remote(&path)) {
                Ok(()) => removed += 1,
                Err(e) if errors::sftp_status(&e) == Some(FX_NO_SUCH_FILE) => {}
                Err(e) => return Err(self.fail(e, "delete a temporary file in", &self.shown(dir))),
            }
        }
        Ok(removed)
    }
}

impl Drop for SftpSession {
    fn drop(&mut self) {
        // Say goodbye, but never hang on a dead or stalled server for long.
        self.ssh.set_timeout(if self.broken { 1 } else { 2_000 });
        if !self.broken {
            let _ = self.ssh.disconnect(None, "Backup Center is done", None);
        }
    }
}
