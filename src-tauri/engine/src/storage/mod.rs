//! Backup destinations: where finished snapshot files are kept.
//!
//! A [`Destination`] is configuration: cheap to clone, it holds no connection and resolves its
//! password from the [`SecretStore`] only when [`Destination::open`] is called. A [`Session`] is
//! one live connection, owned by one run. Every path a session is given is a [`RemotePath`]
//! relative to the destination's folder, so a session cannot be talked into writing anywhere
//! else; the folder itself is configuration ([`RemoteFolder`] for servers: relative to the
//! login directory unless it starts with `/`; a local folder is relative to a base directory).
//!
//! # Why the traits are synchronous
//! suppaftp (FTP, FTPS) is a blocking library; the SFTP session drives russh on a runtime of
//! its own and blocks the caller until each answer. An async trait over them would only hide
//! a thread behind `spawn_blocking` inside every method and make cancellation look cheaper
//! than it is. So a `Session` is plain blocking code that the runner moves onto one
//! `tokio::task::spawn_blocking` thread for the whole upload (never an async task: the SFTP
//! session's `block_on` would panic there); it is `Send` but not `Sync` (one connection, one
//! user at a time).
//!
//! # Rules every implementation keeps
//! - [`Session::put`] streams to a temporary name ([`names::temporary_name`]), renames it to the
//!   final name only if no file has that name (never overwrite a backup: OpenSSH's SFTP cannot
//!   rename onto an existing file anyway), then confirms the size. On any failure the
//!   temporary file is removed while the connection allows; [`Session::cleanup_temporaries`]
//!   removes those a crash or a lost connection left. [`Session::put_resuming`] keeps it when
//!   the backup itself could not be read, so that a retry continues it (see its docs).
//! - [`Session::list`] and [`Session::usage`] see only this app's files ([`names`]); foreign
//!   files in the folder are never listed, counted or removed.
//! - Not enough space (quota or disk) is [`ErrorKind::StorageFull`], checked up front from the
//!   size hint and again while streaming.
//! - A session never retries: the runner decides, and it can reconnect.

pub mod download;
pub mod ftp;
pub mod local;
pub mod memory;
pub mod names;
mod net;
mod path;
mod resume;
pub mod sftp;

pub use download::download;
pub use path::{RemoteFolder, RemotePath};
pub use resume::ReadSeek;

use std::fmt;
use std::io::{self, Read, SeekFrom, Write};

use chrono::{DateTime, Utc};

use crate::error::{Error, ErrorKind, Result};
use crate::secrets::SecretStore;

pub use ftp::{FtpConfig, FtpDestination, FtpSecurity};
pub use local::LocalDestination;
pub use memory::{Fault, MemoryDestination};

/// The default quota of a local folder: 20 GB (decimal, as disks are sold and shown).
pub const DEFAULT_QUOTA: u64 = 20_000_000_000;

/// Where backups go: configuration only.
pub trait Destination: Send + Sync + fmt::Debug {
    /// How the user recognises this destination in messages: "the folder /home/a/Backups",
    /// "sftp://backup@nas/jira".
    fn describe(&self) -> String;

    /// Connects (and logs in, reading the password from `secrets`).
    ///
    /// # Errors
    /// `StorageAuth` for a refused login, `SecretMissing`/`SecretStoreUnavailable` when the
    /// password cannot be read, `Unreachable`/`Dns`/`Tls`/`Timeout` for the network.
    fn open(&self, secrets: &dyn SecretStore) -> Result<Box<dyn Session>>;
}

/// One live connection to a destination, owned by one run. Blocking; see the module docs.
pub trait Session: Send {
    /// Creates `dir` (relative to the destination folder; empty = the folder itself) and every
    /// missing parent, the destination folder included. Existing folders are fine.
    ///
    /// # Errors
    /// `StoragePermission`, `StoragePath` (a part of the path is a file), `StorageFull`.
    fn create_dir_all(&mut self, dir: &RemotePath) -> Result<()>;

    /// Streams `data` to `path` through a temporary name, renames it, and confirms the size.
    /// `size_hint` (the snapshot's size, when known) lets the quota and free space be checked
    /// before a byte is sent. The parent folder must exist.
    ///
    /// # Errors
    /// `StorageConflict` if `path` exists (nothing is overwritten), `StorageFull` with the
    /// figures, `StoragePermission`, `StoragePath`, `SnapshotCorrupt` if the stored size differs
    /// from what was sent, `Internal` if `data` fails. No temporary file is left behind.
    fn put(
        &mut self,
        path: &RemotePath,
        data: &mut dyn Read,
        size_hint: Option<u64>,
    ) -> Result<BackupFile>;

    /// [`Session::put`] for a retry after an upload broke off. `data` is the whole backup, at
    /// any position, and must be the same backup as in the earlier attempt (a snapshot name
    /// carries the site, the kind and the minute, and one app instance uploads it).
    ///
    /// Destinations that can write from an offset (FTP with `APPE`, SFTP) look for a temporary
    /// of `path` left by the earlier attempt, compare the last 256 KiB it holds with the same
    /// bytes of `data`, and if they match send only the rest; temporaries that differ are
    /// removed (the mechanism is shared: `storage/resume.rs`). Otherwise, and for destinations
    /// that cannot continue a file (local folders, memory: the default implementation), the
    /// upload starts over from the beginning of `data`.
    ///
    /// # The temporary after a failure
    /// Every implementation keeps this contract:
    /// - **`data` fails** (the snapshot file cannot be read): a destination that resumes keeps
    ///   the temporary, so that the next `put_resuming` continues it; the default removes it,
    ///   as `put` does.
    /// - **The connection is lost**: nothing can be removed; the temporary stays for the next
    ///   `put_resuming` (or `cleanup_temporaries`).
    /// - **Anything else** (no room, permission, a name conflict, a size mismatch): removed.
    ///
    /// Kept temporaries are removed only by [`Session::cleanup_temporaries`]. A runner that
    /// retries must therefore call `put_resuming` for a snapshot *before* it calls
    /// `cleanup_temporaries` on that folder, and pass the start of its own run as `before`:
    /// what this run left for a retry survives, what earlier runs left and nobody continued
    /// goes.
    ///
    /// # Errors
    /// As [`Session::put`]; `Internal` also when `data` cannot be sought.
    fn put_resuming(
        &mut self,
        path: &RemotePath,
        data: &mut dyn ReadSeek,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        data.seek(SeekFrom::Start(0)).map_err(|e| {
            Error::internal(format!("Could not read the backup to store again: {e}."))
                .with_source(e)
        })?;
        self.put(path, &mut resume::ReadOnly(data), size_hint)
    }

    /// This app's snapshot files directly in `dir` (see [`names::is_snapshot_name`]), sorted by
    /// name. Foreign files, folders and temporaries are left out.
    ///
    /// # Errors
    /// `StoragePath` if `dir` does not exist, `StoragePermission`.
    fn list(&mut self, dir: &RemotePath) -> Result<Vec<BackupFile>>;

    /// Streams the file at `path` into `out` in chunks of about 1 MiB, calling `progress` with
    /// the bytes written so far after each; returns how many were written. Nothing at the
    /// destination changes. Checking what arrived is up to the caller (see [`download()`]).
    ///
    /// # Errors
    /// `NotFound`, `StoragePermission`, the connection errors of the other operations; a failed
    /// write to `out` as for local files (a full disk is `StorageFull`).
    fn get(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64>;

    /// Removes one file.
    ///
    /// # Errors
    /// `NotFound`, `StoragePermission`.
    fn remove(&mut self, path: &RemotePath) -> Result<()>;

    /// Renames a file; refuses (`StorageConflict`) when `to` exists.
    ///
    /// # Errors
    /// `NotFound` for a missing `from`, `StorageConflict`, `StoragePermission`.
    fn rename(&mut self, from: &RemotePath, to: &RemotePath) -> Result<()>;

    /// Bytes used by this app's files in the destination folder, the quota, and the free space
    /// where the protocol can tell.
    ///
    /// # Errors
    /// As [`Session::list`].
    fn usage(&mut self) -> Result<Usage>;

    /// Removes this app's temporary files in `dir` last modified before `before` (left by
    /// crashed or killed runs; the runner passes its own start time so a concurrent upload
    /// is not disturbed). Returns how many were removed. Foreign files are never touched.
    ///
    /// # Errors
    /// As [`Session::list`] and [`Session::remove`].
    fn cleanup_temporaries(&mut self, dir: &RemotePath, before: DateTime<Utc>) -> Result<usize>;

    /// "Test connection": create the folder, write a probe file, rename it, list, delete it.
    /// Stops at the first failing step and says which one it was.
    fn check(&mut self) -> CheckReport {
        run_check(self)
    }
}

/// Opens `destination` and runs [`Session::check`]; a failed connection or login is the
/// [`CheckStep::Connect`] step.
pub fn test_connection(destination: &dyn Destination, secrets: &dyn SecretStore) -> CheckReport {
    match destination.open(secrets) {
        Ok(mut session) => {
            let mut report = session.check();
            report.passed.insert(0, CheckStep::Connect);
            report
        }
        Err(e) => CheckReport {
            passed: Vec::new(),
            failed: Some((CheckStep::Connect, e)),
        },
    }
}

/// A snapshot file at a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// The file name (no folder).
    pub name: String,
    pub size: u64,
    /// Last modification as the server reports it; `None` where the listing has no time.
    pub modified: Option<DateTime<Utc>>,
}

/// Figures for the usage indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes in this app's snapshot files in the destination folder.
    pub used: u64,
    /// The configured quota, if any.
    pub quota: Option<u64>,
    /// Free space on the disk holding the folder, where known (local folders; not FTP).
    pub disk_free: Option<u64>,
}

impl Usage {
    /// What a new backup may still take: the smaller of the quota left and the disk's free
    /// space; `None` when neither is known.
    pub fn available(&self) -> Option<u64> {
        let quota_left = self.quota.map(|q| q.saturating_sub(self.used));
        match (quota_left, self.disk_free) {
            (Some(q), Some(d)) => Some(q.min(d)),
            (q, d) => q.or(d),
        }
    }

    /// `StorageFull` if `needed` bytes do not fit.
    pub fn ensure_room(&self, needed: u64) -> Result<()> {
        match self.available() {
            Some(free) if needed > free => Err(not_enough_storage(Some(needed), Some(free))),
            _ => Ok(()),
        }
    }
}

/// The steps of "Test connection", in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStep {
    Connect,
    CreateFolder,
    WriteProbe,
    RenameProbe,
    ListFolder,
    DeleteProbe,
}

impl fmt::Display for CheckStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckStep::Connect => "connect and log in",
            CheckStep::CreateFolder => "create the folder",
            CheckStep::WriteProbe => "write a test file",
            CheckStep::RenameProbe => "rename the test file",
            CheckStep::ListFolder => "list the folder",
            CheckStep::DeleteProbe => "delete the test file",
        })
    }
}

/// The outcome of "Test connection": the steps that passed and the one that failed, if any.
#[derive(Debug)]
pub struct CheckReport {
    pub passed: Vec<CheckStep>,
    pub failed: Option<(CheckStep, Error)>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.failed.is_none()
    }

    /// The failure as one error whose message names the step:
    /// "Test connection failed at \"write a test file\": …".
    pub fn into_result(self) -> Result<()> {
        match self.failed {
            None => Ok(()),
            Some((step, e)) => {
                let message = format!("Test connection failed at \"{step}\": {}", e.message());
                let kind = e.kind;
                let retry = e.retry;
                Err(Error::new(kind, message)
                    .with_retry(retry)
                    .with_context("step", step.to_string())
                    .with_source(e))
            }
        }
    }
}

fn run_check<S: Session + ?Sized>(session: &mut S) -> CheckReport {
    let mut report = CheckReport {
        passed: Vec::new(),
        failed: None,
    };
    let probe = RemotePath::parse(names::PROBE_NAME).expect("a valid name");
    let renamed = RemotePath::parse(names::PROBE_RENAMED).expect("a valid name");
    let folder = RemotePath::folder();
    let body: &[u8] = b"Backup Center connection test; safe to delete.\n";
    // A probe left by an interrupted check would make `put` refuse (it never overwrites).
    let _ = session.remove(&probe);
    let _ = session.remove(&renamed);
    for step in [
        CheckStep::CreateFolder,
        CheckStep::WriteProbe,
        CheckStep::RenameProbe,
        CheckStep::ListFolder,
        CheckStep::DeleteProbe,
    ] {
        let outcome = match step {
            // The caller connected; see `test_connection`.
            CheckStep::Connect => Ok(()),
            CheckStep::CreateFolder => session.create_dir_all(&folder),
            CheckStep::WriteProbe => session
                .put(&probe, &mut &body[..], Some(body.len() as u64))
                .map(|_| ()),
            CheckStep::RenameProbe => session.rename(&probe, &renamed),
            CheckStep::ListFolder => session.list(&folder).map(|_| ()),
            CheckStep::DeleteProbe => session.remove(&renamed),
        };
        match outcome {
            Ok(()) => report.passed.push(step),
            Err(e) => {
                // Best effort: leave no probe behind after a later step failed.
                let _ = session.remove(&probe);
                let _ = session.remove(&renamed);
                report.failed = Some((step, e));
                break;
            }
        }
    }
    report
}

/// The next chunk of a backup being stored (0 at its end), retrying interrupted reads.
pub(crate) fn read_chunk(data: &mut dyn Read, buf: &mut [u8], shown: &str) -> Result<usize> {
    loop {
        match data.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::internal(format!(
                    "Could not read the backup to store in {shown}: {e}."
                ))
                .with_source(e))
            }
        }
    }
}

/// "Not enough storage for this backup: 1.2 GB needed, 300.0 MB free."
pub(crate) fn not_enough_storage(needed: Option<u64>, free: Option<u64>) -> Error {
    let figures = match (needed, free) {
        (Some(n), Some(f)) => format!(": {} needed, {} free", format_bytes(n), format_bytes(f)),
        (None, Some(f)) => format!(": {} free", format_bytes(f)),
        (Some(n), None) => format!(": {} needed", format_bytes(n)),
        (None, None) => String::new(),
    };
    Error::new(
        ErrorKind::StorageFull,
        format!(
            "Not enough storage for this backup{figures}. Free some space, raise the quota or \
             choose another destination."
        ),
    )
}

/// A listing of a folder, with a folder that does not exist (yet) read as empty: it holds
/// nothing of ours. Other failures stay failures.
pub(crate) fn missing_is_empty<T: Default>(listed: Result<T>) -> Result<T> {
    match listed {
        Err(e) if e.kind == ErrorKind::StoragePath => Ok(T::default()),
        other => other,
    }
}

/// The file name a backup is stored under (the last part of `path`).
pub(crate) fn backup_name(path: &RemotePath) -> Result<String> {
    path.file_name()
        .map(str::to_string)
        .ok_or_else(|| Error::invalid_input("A backup needs a file name."))
}

/// `shown` (a file as the user knows it) is taken: nothing is ever overwritten.
pub(crate) fn exists_error(shown: &str) -> Error {
    Error::new(
        ErrorKind::StorageConflict,
        format!("{shown} already exists. Backup Center never overwrites a backup."),
    )
}

/// `shown` (a file as the user knows it) is not there.
pub(crate) fn not_found(shown: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("{shown} does not exist."))
}

/// The stored backup `shown` has `stored` bytes (`None`: it is gone) where `sent` were sent;
/// the caller has removed what is left of it.
pub(crate) fn size_mismatch(shown: &str, stored: Option<u64>, sent: u64) -> Error {
    let message = match stored {
        Some(stored) => format!(
            "The stored backup {shown} has {stored} bytes, but {sent} were sent. It was removed; \
             run the backup again."
        ),
        None => format!(
            "The stored backup {shown} vanished right after {sent} bytes were stored. Run the \
             backup again."
        ),
    };
    Error::new(ErrorKind::SnapshotCorrupt, message)
}

/// Decimal units, one decimal place, as disks and quotas are shown to users.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A write failure during an upload; ENOSPC gets the figures we know.
pub(crate) fn write_error(e: io::Error, hint: Option<u64>, free: Option<u64>, what: &str) -> Error {
    let mapped = io_error(e, "write to", what);
    if mapped.kind == ErrorKind::StorageFull {
        not_enough_storage(hint, free).with_source(mapped)
    } else {
        mapped
    }
}

/// What an I/O failure on `what` (a folder or file as the user knows it) means for the user.
/// Shared by every protocol that surfaces `io::Error`s (local files, SFTP statuses).
pub(crate) fn io_error(e: io::Error, action: &str, what: &str) -> Error {
    let error = match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => not_enough_storage(None, None),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => Error::new(
            ErrorKind::StoragePermission,
            format!(
                "Backup Center may not {action} {what}: permission denied. Change the folder's \
                 permissions or choose another folder."
            ),
        ),
        io::ErrorKind::NotFound => Error::new(
            ErrorKind::StoragePath,
            format!("Could not {action} {what}: it does not exist."),
        ),
        io::ErrorKind::NotADirectory => Error::new(
            ErrorKind::StoragePath,
            format!("Could not {action} {what}: a part of the path is a file, not a folder."),
        ),
        io::ErrorKind::AlreadyExists => Error::new(
            ErrorKind::StorageConflict,
            format!(
                "Could not {action} {what}: a file with that name already exists. Backup \
                 Center never overwrites a backup."
            ),
        ),
        io::ErrorKind::TimedOut => Error::new(
            ErrorKind::Timeout,
            format!("Could not {action} {what}: timed out."),
        ),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Error::new(
            ErrorKind::Unreachable,
            format!("Could not {action} {what}: the connection was lost."),
        ),
        _ => Error::internal(format!("Could not {action} {what}: {e}.")),
    };
    error
        .with_context("target", what.to_string())
        .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_refuse_traversal_nul_control_and_backslash() {
        for bad in [
            "..",
            "a/../b",
            "../x.zip",
            "a\0b",
            "a\nb",
            "tab\there",
            "del\u{7f}",
            "a\\..\\b",
            "/abs",
        ] {
            let e = RemotePath::parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().contains("cannot be used"), "{}", e.message());
        }
        assert!(RemoteFolder::parse("/srv/../etc").is_err());
    }

    #[test]
    fn paths_are_normalised_and_keep_spaces_and_unicode() {
        let p = RemotePath::parse("./Jira Backups//Überblick 日本/").unwrap();
        assert_eq!(p.as_str(), "Jira Backups/Überblick 日本");
        assert_eq!(p.file_name(), Some("Überblick 日本"));
        assert_eq!(p.parent().as_str(), "Jira Backups");
        assert!(RemotePath::parse("").unwrap().is_folder());
        assert_eq!(
            RemotePath::folder().join("a b.zip").unwrap().as_str(),
            "a b.zip"
        );
        assert!(RemotePath::folder().join("a/b").is_err());
        assert!(RemotePath::folder().join("..").is_err());
        assert!(RemotePath::folder().join("").is_err());
    }

    #[test]
    fn folders_are_relative_to_the_login_directory_unless_absolute() {
        let name = RemotePath::parse("x.zip").unwrap();
        let rel = RemoteFolder::parse("backups/jira").unwrap();
        assert!(!rel.is_absolute());
        assert_eq!(rel.resolve(&name), "backups/jira/x.zip");
        let abs = RemoteFolder::parse("/srv/backups").unwrap();
        assert_eq!(abs.resolve(&name), "/srv/backups/x.zip");
        assert_eq!(RemoteFolder::parse("").unwrap().to_string(), ".");
        assert_eq!(RemoteFolder::parse("/").unwrap().to_string(), "/");
    }

    #[test]
    fn available_is_the_smaller_of_quota_left_and_disk_free() {
        let u = Usage {
            used: 15,
            quota: Some(20),
            disk_free: Some(100),
        };
        assert_eq!(u.available(), Some(5));
        let e = u.ensure_room(6).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageFull);
        assert!(
            e.message()
                .contains("Not enough storage for this backup: 6 bytes needed, 5 bytes free"),
            "{}",
            e.message()
        );
        assert!(u.ensure_room(5).is_ok());
        let none = Usage {
            used: 1,
            quota: None,
            disk_free: None,
        };
        assert_eq!(none.available(), None);
        assert!(none.ensure_room(u64::MAX).is_ok());
    }

    #[test]
    fn put_resuming_by_default_sends_everything_from_the_start() {
        let dest = MemoryDestination::new();
        let mut s = dest.session();
        s.create_dir_all(&RemotePath::folder()).unwrap();
        let mut source = io::Cursor::new(b"the whole backup".to_vec());
        source.set_position(4);
        let name = "acme.atlassian.net-basic-2026-11-22_0300.zip";
        let stored = s
            .put_resuming(&RemotePath::parse(name).unwrap(), &mut source, None)
            .unwrap();
        assert_eq!(stored.size, 16);
        assert_eq!(dest.read(name).unwrap(), b"the whole backup");
    }

    #[test]
    fn bytes_are_shown_in_decimal_units() {
        assert_eq!(format_bytes(999), "999 bytes");
        assert_eq!(format_bytes(1_500), "1.5 kB");
        assert_eq!(format_bytes(DEFAULT_QUOTA), "20.0 GB");
    }

    #[test]
    fn io_errors_become_actionable() {
        let e = io_error(
            io::Error::from(io::ErrorKind::PermissionDenied),
            "write to",
            "/srv/b",
        );
        assert_eq!(e.kind, ErrorKind::StoragePermission);
        assert!(e
            .message()
            .starts_with("Backup Center may not write to /srv/b: permission denied"));
        let full = io_error(io::Error::from(io::ErrorKind::StorageFull), "write", "x");
        assert_eq!(full.kind, ErrorKind::StorageFull);
    }
}
