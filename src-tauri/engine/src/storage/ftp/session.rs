//! One logged-in FTP connection doing the [`Session`] operations.
//!
//! Paths sent to the server are absolute (the login folder from `PWD`, joined with the
//! destination folder and the [`RemotePath`]), so no operation depends on the current folder;
//! listings alone `CWD` into the folder and list it without an argument (servers disagree on
//! how `LIST` arguments with spaces or options are read).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use suppaftp::{DataStream, FtpError, TlsStream};

use super::connect::{self, Control, Features};
use super::list::{self, Entry, EntryKind};
use super::reply::{self, Op, Server};
use super::tickets::Tickets;
use super::FtpDestination;
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::Sensitive;
use crate::storage::resume::Source;
use crate::storage::{
    exists_error, missing_is_empty, names, not_found, BackupFile, ReadSeek, RemotePath, Session,
    Usage,
};

/// A logged-in FTP or FTPS connection in binary mode.
pub struct FtpSession {
    pub(super) ftp: Control,
    pub(super) server: Server,
    pub(super) features: Features,
    /// The destination folder on the server, absolute, without a trailing `/` (except `/`).
    pub(super) base: String,
    /// `ftp://user@host:port`, to show server paths as URLs.
    pub(super) origin: String,
    pub(super) quota: Option<u64>,
    /// The folder the server is in (`CWD`), when known.
    pub(super) cwd: Option<String>,
    /// Whether `LIST -a` (hidden files too) works; cleared on a server that refuses it.
    pub(super) list_hidden: bool,
    /// Set once the connection is lost or stalled: later calls fail at once instead of
    /// waiting for the timeout again. The runner reconnects.
    pub(super) broken: Option<String>,
    /// FTPS: the TLS session cache of this connection (see `tickets.rs`).
    tickets: Option<Arc<Tickets>>,
    /// Shared with the data connection builder (see [`FtpSession::refusable`]).
    brief: Arc<AtomicBool>,
    /// What opening the connection again takes (see [`FtpSession::resumable`]).
    dest: FtpDestination,
    password: Sensitive<String>,
}

impl std::fmt::Debug for FtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FtpSession({}{})", self.origin, self.base)
    }
}

pub(super) fn join(dir: &str, name: &str) -> String {
    match (dir, name) {
        (d, "") => d.to_string(),
        (d, n) if d.ends_with('/') => format!("{d}{n}"),
        (d, n) => format!("{d}/{n}"),
    }
}

/// `/a/b/c` into `/a/b` and `c`.
pub(super) fn split(path: &str) -> (String, String) {
    match path.rfind('/') {
        Some(0) => ("/".to_string(), path[1..].to_string()),
        Some(i) => (path[..i].to_string(), path[i + 1..].to_string()),
        None => (".".to_string(), path.to_string()),
    }
}

impl FtpSession {
    pub(super) fn open(dest: &FtpDestination, password: &Sensitive<String>) -> Result<Self> {
        let logged_in = connect::login(dest, password)?;
        let base = if dest.folder.is_absolute() {
            dest.folder.to_string()
        } else {
            join(&logged_in.home, dest.folder.path().as_str())
        };
        Ok(Self {
            ftp: logged_in.ftp,
            server: logged_in.server,
            features: logged_in.features,
            base,
            origin: dest.url(""),
            quota: dest.quota,
            cwd: Some(logged_in.home),
            list_hidden: true,
            broken: None,
            tickets: logged_in.tickets,
            brief: logged_in.brief,
            dest: dest.clone(),
            password: password.clone(),
        })
    }

    /// Opens the data connection of a command the server may refuse (`STOR`, `APPE`,
    /// `RETR`): until the server accepts it, its connection waits only briefly (a refused
    /// one would otherwise hang for the I/O timeout, see [`connect::BRIEF`]); then the I/O
    /// timeout applies.
    pub(super) fn refusable<S: TlsStream>(
        &mut self,
        open: impl FnOnce(&mut Control) -> std::result::Result<DataStream<S>, FtpError>,
    ) -> std::result::Result<DataStream<S>, FtpError> {
        self.brief.store(true, Ordering::Relaxed);
        let opened = open(&mut self.ftp);
        self.brief.store(false, Ordering::Relaxed);
        let stream = opened?;
        stream
            .get_ref()
            .set_read_timeout(Some(self.server.io_timeout))
            .map_err(FtpError::ConnectionError)?;
        Ok(stream)
    }

    /// Before a data command: opens a fresh control connection if this one's TLS session
    /// tickets ran out, so the data connection can resume a session (see `tickets.rs`).
    pub(super) fn resumable(&mut self) -> Result<()> {
        if !self.tickets.as_ref().is_some_and(|t| t.exhausted()) {
            return Ok(());
        }
        tracing::debug!(target: "storage", server = %self.origin,
            "FTPS session tickets used up: connecting again");
        let fresh = Self::open(&self.dest, &self.password)?;
        let list_hidden = self.list_hidden;
        // The old connection says goodbye as it is dropped.
        drop(std::mem::replace(self, fresh));
        self.list_hidden = list_hidden;
        Ok(())
    }

    /// The destination folder's absolute path on the server.
    pub fn folder_on_server(&self) -> &str {
        &self.base
    }

    pub(super) fn abs(&self, path: &RemotePath) -> String {
        join(&self.base, path.as_str())
    }

    pub(super) fn shown(&self, abs: &str) -> String {
        format!("{}{}", self.origin, abs)
    }

    pub(super) fn map(&mut self, e: FtpError, op: Op, abs: &str) -> Error {
        let error = reply::map(e, op, &self.shown(abs), &self.server);
        if matches!(error.kind, ErrorKind::Unreachable | ErrorKind::Timeout) {
            self.broken = Some(error.message().to_string());
        }
        error
    }

    /// Fails at once on a connection already lost.
    pub(super) fn alive(&self) -> Result<()> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorKind::Unreachable,
                format!("{why} (The connection must be opened again.)"),
            )),
        }
    }

    pub(super) fn cwd(&mut self, dir: &str) -> std::result::Result<(), FtpError> {
        if self.cwd.as_deref() == Some(dir) {
            return Ok(());
        }
        self.cwd = None;
        self.ftp.cwd(dir)?;
        self.cwd = Some(dir.to_string());
        Ok(())
    }

    /// The size of the file at `abs`, `None` if there is none.
    pub(super) fn size_of(&mut self, abs: &str) -> Result<Option<u64>> {
        if !self.features.size {
            let (dir, name) = split(abs);
            return Ok(self
                .lookup(&dir, &name)?
                .filter(|e| e.kind == EntryKind::File)
                .and_then(|e| e.size));
        }
        match self.ftp.size(abs) {
            Ok(n) => Ok(Some(n as u64)),
            Err(e) if reply::code(&e).is_some_and(|c| c == 550 || c == 450) => Ok(None),
            Err(e) => Err(self.map(e, Op::Inspect, abs)),
        }
    }

    pub(super) fn modified(&mut self, abs: &str) -> Option<DateTime<Utc>> {
        if !self.features.mdtm {
            return None;
        }
        self.ftp.mdtm(abs).ok().map(|t| Utc.from_utc_datetime(&t))
    }

    /// Every entry of the folder `dir` (absolute), hidden files included.
    pub(super) fn entries(&mut self, dir: &str) -> Result<Vec<Entry>> {
        self.alive()?;
        self.resumable()?;
        if let Err(e) = self.cwd(dir) {
            return Err(self.folder_error(e, dir, "list"));
        }
        let lines = if self.features.mlsd {
            self.ftp.mlsd(None)
        } else if self.list_hidden {
            match self.ftp.list(Some("-a")) {
                // Refused, or "-a" taken for a file name (550): list without options.
                Err(e) if reply::code(&e).is_some_and(|c| (500..=504).contains(&c) || c == 550) => {
                    self.list_hidden = false;
                    self.ftp.list(None)
                }
                other => other,
            }
        } else {
            self.ftp.list(None)
        };
        let lines = lines.map_err(|e| self.map(e, Op::List, dir))?;
        let now = Utc::now();
        Ok(lines
            .iter()
            .filter_map(|l| {
                if self.features.mlsd {
                    list::parse_mlsd_line(l)
                } else {
                    list::parse_list_line(l, now)
                }
            })
            .collect())
    }

    /// The entry `name` in the folder `dir`, if any.
    pub(super) fn lookup(&mut self, dir: &str, name: &str) -> Result<Option<Entry>> {
        Ok(self.entries(dir)?.into_iter().find(|e| e.name == name))
    }

    /// Why `CWD dir` failed, as well as the parent's listing can tell.
    pub(super) fn folder_error(&mut self, e: FtpError, dir: &str, action: &str) -> Error {
        if !reply::code(&e).is_some_and(|c| (500..600).contains(&c)) {
            return self.map(e, Op::List, dir);
        }
        let shown = self.shown(dir);
        let said = match &e {
            FtpError::UnexpectedResponse(r) => {
                format!("{} {}", reply::reply_code(r), reply::reply_text(r))
            }
            _ => String::new(),
        };
        let (parent, name) = split(dir);
        let error = match self.lookup(&parent, &name) {
            Ok(Some(entry)) if entry.kind == EntryKind::File => Error::new(
                ErrorKind::StoragePath,
                format!("Could not {action} {shown}: a part of the path is a file, not a folder."),
            ),
            Ok(Some(_)) => Error::new(
                ErrorKind::StoragePermission,
                format!(
                    "Backup Center may not {action} {shown}: permission denied ({said}). Change \
                     the folder's permissions on the server or choose another folder."
                ),
            ),
            Ok(None) => Error::new(
                ErrorKind::StoragePath,
                format!("Could not {action} {shown}: it does not exist."),
            ),
            Err(_) => Error::new(
                ErrorKind::StoragePath,
                format!(
                    "Could not {action} {shown}: it does not exist or may not be opened ({said})."
                ),
            ),
        };
        error.with_context("target", shown).with_source(e)
    }

    /// Bytes in our snapshots in the destination folder (0 while it does not exist).
    pub(super) fn used(&mut self) -> Result<u64> {
        let files = missing_is_empty(Session::list(self, &RemotePath::folder()))?;
        Ok(files.iter().map(|f| f.size).sum())
    }
}

impl Session for FtpSession {
    fn create_dir_all(&mut self, dir: &RemotePath) -> Result<()> {
        self.alive()?;
        let target = self.abs(dir);
        if self.cwd(&target).is_ok() {
            return Ok(());
        }
        // From the deepest folder that exists, create the rest one by one.
        let mut missing = Vec::new();
        let mut existing = target.clone();
        while existing != "/" && existing != "." && !existing.is_empty() {
            let (parent, name) = split(&existing);
            missing.push(name);
            existing = parent;
            if self.cwd(&existing).is_ok() {
                break;
            }
            self.alive()?;
        }
        for name in missing.into_iter().rev() {
            let path = join(&existing, &name);
            if let Err(e) = self.ftp.mkdir(&path) {
                let shown = self.shown(&path);
                let error = match self.lookup(&existing, &name) {
                    Ok(Some(entry)) if entry.kind == EntryKind::File => Error::new(
                        ErrorKind::StoragePath,
                        format!(
                            "Could not create the folder {}: a part of the path ({shown}) is a \
                             file, not a folder.",
                            self.shown(&target)
                        ),
                    )
                    .with_source(e),
                    // Created meanwhile, or there but not ours to enter.
                    Ok(Some(_)) => match self.cwd(&path) {
                        Ok(()) => {
                            existing = path;
                            continue;
                        }
                        Err(e) => self.folder_error(e, &path, "open the folder"),
                    },
                    _ => self.map(e, Op::CreateFolder, &path),
                };
                return Err(error);
            }
            existing = path;
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
        let abs = self.abs(dir);
        let mut files = Vec::new();
        for entry in self.entries(&abs)? {
            if entry.kind != EntryKind::File || !names::is_snapshot_name(&entry.name) {
                continue;
            }
            let size = match entry.size {
                Some(size) => size,
                None => match self.size_of(&join(&abs, &entry.name))? {
                    Some(size) => size,
                    None => continue,
                },
            };
            files.push(BackupFile {
                name: entry.name,
                size,
                modified: entry.modified,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
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
        self.alive()?;
        let abs = self.abs(path);
        match self.ftp.rm(&abs) {
            Ok(()) => Ok(()),
            Err(e) if reply::code(&e).is_some_and(|c| c == 550 || c == 450) => {
                match self.size_of(&abs)? {
                    None => Err(not_found(&self.shown(&abs))),
                    Some(_) => Err(self.map(e, Op::Delete, &abs)),
                }
            }
            Err(e) => Err(self.map(e, Op::Delete, &abs)),
        }
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        self.alive()?;
        let (from, to) = (self.abs(from), self.abs(to));
        if self.size_of(&from)?.is_none() {
            return Err(not_found(&self.shown(&from)));
        }
        if self.size_of(&to)?.is_some() {
            return Err(exists_error(&self.shown(&to)));
        }
        self.ftp
            .rename(&from, &to)
            .map_err(|e| self.map(e, Op::Rename, &from))
    }

    fn usage(&mut self) -> Result<Usage> {
        Ok(Usage {
            used: self.used()?,
            quota: self.quota,
            disk_free: None,
        })
    }

    fn cleanup_temporaries(&mut self, dir: &RemotePath, before: DateTime<Utc>) -> Result<usize> {
        let abs = self.abs(dir);
        let entries = missing_is_empty(self.entries(&abs))?;
        let mut removed = 0;
        for entry in entries {
            if entry.kind != EntryKind::File || !names::is_temporary_name(&entry.name) {
                continue;
            }
            let path = join(&abs, &entry.name);
            // MLSD times and MDTM are exact UTC; a LIST time is only to the minute, in the
            // server's zone: then only a day older than `before` counts as stale.
            let exact = match self.features.mlsd {
                true => entry.modified,
                false => self.modified(&path),
            };
            let stale = match exact {
                Some(t) => t < before,
                None => entry
                    .modified
                    .is_some_and(|t| t + chrono::Duration::days(1) < before),
            };
            if !stale {
                continue;
            }
            match self.ftp.rm(&path) {
                Ok(()) => removed += 1,
                // Gone meanwhile (another run cleaned up).
                Err(e) if reply::code(&e) == Some(550) && self.size_of(&path)?.is_none() => {}
                Err(e) => return Err(self.map(e, Op::Delete, &path)),
            }
        }
        Ok(removed)
    }
}

impl Drop for FtpSession {
    fn drop(&mut self) {
        if self.broken.is_none() {
            let _ = self.ftp.quit();
        }
    }
}
