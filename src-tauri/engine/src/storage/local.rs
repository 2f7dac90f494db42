//! A folder on this computer (or a mounted drive) as a destination.
//!
//! Free space comes from `fs4` (`statvfs` on Unix, `GetDiskFreeSpaceExW` on Windows): a small,
//! maintained crate over rustix/windows-sys that our dependency tree already carries, where
//! calling `statvfs` ourselves would need `unsafe` (denied in this workspace) and `sysinfo`
//! would enumerate every disk and process to answer one question.
//!
//! Renaming without overwriting: `std::fs::rename` replaces an existing file on every OS, so
//! the final name is made with `hard_link` (which fails if the name exists, atomically) and the
//! temporary removed. File systems without hard links (FAT, exFAT, some network shares) fall
//! back to "check, then rename", which leaves a tiny window only another writer could use.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

use super::download::copy_out;
use super::{
    backup_name, io_error, names, not_enough_storage, not_found, read_chunk, size_mismatch,
    write_error, BackupFile, Destination, RemotePath, Session, Usage, DEFAULT_QUOTA,
};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::SecretStore;

/// The folder name used under the app-data folder unless the user picks another.
pub const DEFAULT_FOLDER: &str = "Backups";

/// Write size: big enough that per-call overhead disappears (and what remote protocols want,
/// see notes/test-servers.md), small enough to stop quickly on a full quota.
const CHUNK: usize = 1 << 20;

/// A local folder destination: the folder and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDestination {
    folder: PathBuf,
    quota: Option<u64>,
}

impl LocalDestination {
    /// `folder` as the user typed or picked it: absolute, or relative to `base_dir` (the app's
    /// data folder). The folder need not exist yet; it is created by `create_dir_all`.
    ///
    /// # Errors
    /// `InvalidInput` for `..`, NUL or control characters.
    pub fn new(base_dir: &Path, folder: &str, quota: Option<u64>) -> Result<Self> {
        if let Some(c) = folder.chars().find(|c| c.is_control()) {
            return Err(Error::invalid_input(format!(
                "The folder {folder:?} cannot be used: it contains the control character \
                 U+{:04X}.",
                c as u32
            )));
        }
        if Path::new(folder)
            .components()
            .any(|c| c == Component::ParentDir)
        {
            return Err(Error::invalid_input(format!(
                "The folder {folder:?} cannot be used: \"..\" is not allowed. Give the folder's \
                 full path instead."
            )));
        }
        // `join` keeps an absolute `folder` as it is.
        Ok(Self {
            folder: base_dir.join(folder),
            quota,
        })
    }

    /// The default: `<app data>/Backups` with a 20 GB quota.
    pub fn default_in(app_data: &Path) -> Self {
        Self {
            folder: app_data.join(DEFAULT_FOLDER),
            quota: Some(DEFAULT_QUOTA),
        }
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    pub fn quota(&self) -> Option<u64> {
        self.quota
    }

    /// The live session without the trait object (tests and the CLI).
    pub fn session(&self) -> LocalSession {
        LocalSession {
            folder: self.folder.clone(),
            quota: self.quota,
        }
    }
}

impl Destination for LocalDestination {
    fn describe(&self) -> String {
        format!("the folder {}", self.folder.display())
    }

    fn open(&self, _secrets: &dyn SecretStore) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.session()))
    }
}

/// How deep below the destination folder the quota looks for our snapshots (scheme folders
/// are one or two levels down; the bound keeps a link loop or a huge tree from stalling).
const USAGE_DEPTH: u32 = 4;

/// The size of the snapshots this app wrote in `dir` and its subfolders, `depth` levels down.
/// Links are not followed.
fn used_below(dir: &Path, depth: u32) -> io::Result<u64> {
    let mut used = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth > 0 {
            match used_below(&entry.path(), depth - 1) {
                Ok(n) => used += n,
                // A subfolder we may not read holds nothing we wrote.
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else if kind.is_file()
            && entry
                .file_name()
                .to_str()
                .is_some_and(names::is_snapshot_name)
        {
            match entry.metadata() {
                Ok(m) => used += m.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(used)
}

/// An open local folder. Holds nothing but the configuration: every call goes to the disk.
#[derive(Debug)]
pub struct LocalSession {
    folder: PathBuf,
    quota: Option<u64>,
}

impl LocalSession {
    fn resolve(&self, path: &RemotePath) -> PathBuf {
        let mut full = self.folder.clone();
        full.extend(path.segments());
        full
    }

    fn usage_now(&self) -> Result<Usage> {
        // Schemes keep their files in folders below the destination's: the quota covers all
        // of them, or a backup in a scheme folder would count for nothing.
        let used = match used_below(&self.folder, USAGE_DEPTH) {
            Ok(n) => n,
            // A folder that does not exist yet holds nothing of ours.
            Err(_) if !self.folder.exists() => 0,
            Err(e) => {
                let shown = self.folder.display().to_string();
                return Err(io_error(e, "list", &shown));
            }
        };
        Ok(Usage {
            used,
            quota: self.quota,
            disk_free: disk_free(&self.folder),
        })
    }

    fn list(&self, dir: &RemotePath) -> Result<Vec<BackupFile>> {
        let path = self.resolve(dir);
        let shown = path.display().to_string();
        let entries = fs::read_dir(&path).map_err(|e| io_error(e, "list", &shown))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(e, "list", &shown))?;
            let name = entry.file_name();
            // A name that is not UTF-8 was not written by us.
            let Some(name) = name.to_str().filter(|n| names::is_snapshot_name(n)) else {
                continue;
            };
            let meta = match entry.metadata() {
                Ok(m) if m.is_file() => m,
                Ok(_) => continue,
                // Removed while we listed: not there any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(e, "read the size of", &shown)),
            };
            files.push(BackupFile {
                name: name.to_string(),
                size: meta.len(),
                modified: meta.modified().ok().map(DateTime::<Utc>::from),
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Streams `data` into `file`; stops with `StorageFull` once `limit` bytes are exceeded.
    fn stream(
        data: &mut dyn Read,
        file: &mut File,
        limit: Option<u64>,
        hint: Option<u64>,
        shown: &str,
    ) -> Result<u64> {
        let mut buf = vec![0u8; CHUNK];
        let mut written = 0u64;
        loop {
            let n = match read_chunk(data, &mut buf, shown)? {
                0 => return Ok(written),
                n => n,
            };
            if let Some(limit) = limit {
                if written + n as u64 > limit {
                    let needed = hint.unwrap_or(written + n as u64).max(written + n as u64);
                    return Err(not_enough_storage(Some(needed), Some(limit)));
                }
            }
            file.write_all(&buf[..n])
                .map_err(|e| write_error(e, hint, limit, shown))?;
            written += n as u64;
        }
    }
}

impl Session for LocalSession {
    fn create_dir_all(&mut self, dir: &RemotePath) -> Result<()> {
        let path = self.resolve(dir);
        let shown = path.display().to_string();
        match fs::create_dir_all(&path) {
            Ok(()) => Ok(()),
            // create_dir_all reports AlreadyExists when the last part is a file.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::new(
                ErrorKind::StoragePath,
                format!("Could not create the folder {shown}: a file has that name."),
            )
            .with_source(e)),
            Err(e) => Err(io_error(e, "create the folder", &shown)),
        }
    }

    fn put(
        &mut self,
        path: &RemotePath,
        data: &mut dyn Read,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        let name = backup_name(path)?;
        let final_path = self.resolve(path);
        let dir = final_path.parent().unwrap_or(&self.folder).to_path_buf();
        let dir_shown = dir.display().to_string();
        if fs::symlink_metadata(&final_path).is_ok() {
            return Err(exists_error(&final_path));
        }
        let usage = self.usage_now()?;
        if let Some(needed) = size_hint {
            usage.ensure_room(needed)?;
        }
        // Only the quota is enforced while streaming; the disk answers for itself (ENOSPC).
        let quota_left = usage.quota.map(|q| q.saturating_sub(usage.used));

        let mut temp = Temporary(Some(dir.join(names::temporary_name(&name))));
        let temp_path = temp.0.clone().unwrap_or_default();
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| io_error(e, "write to", &dir_shown))?;
        let written = Self::stream(data, &mut file, quota_left, size_hint, &dir_shown)?;
        file.sync_all()
            .map_err(|e| write_error(e, size_hint, usage.available(), &dir_shown))?;
        drop(file);
        rename_no_clobber(&temp_path, &final_path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => exists_error(&final_path),
            _ => io_error(e, "rename the new backup in", &dir_shown),
        })?;
        temp.0 = None;
        // Make the rename itself durable; failing here loses nothing already written.
        let _ = sync_dir(&dir);

        let meta = fs::metadata(&final_path).map_err(|e| io_error(e, "check", &dir_shown))?;
        if meta.len() != written {
            // Keep the evidence out of the listing's way but do not call it a backup.
            let _ = fs::remove_file(&final_path);
            return Err(size_mismatch(
                &final_path.display().to_string(),
                Some(meta.len()),
                written,
            ));
        }
        Ok(BackupFile {
            name,
            size: written,
            modified: meta.modified().ok().map(DateTime::<Utc>::from),
        })
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<BackupFile>> {
        LocalSession::list(self, dir)
    }

    fn get(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        let full = self.resolve(path);
        let shown = full.display().to_string();
        let mut file = match File::open(&full) {
            Ok(file) => file,
            // A part of the path that is a file: no backup there either.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found(&shown)),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Err(not_found(&shown)),
            Err(e) => return Err(io_error(e, "read", &shown)),
        };
        // A folder opens like a file on Unix; it is not a backup.
        match file.metadata() {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(not_found(&shown)),
            Err(e) => return Err(io_error(e, "read", &shown)),
        }
        copy_out(&mut file, out, progress, &shown)
            .map_err(|f| f.into_error(|e| io_error(e, "read", &shown)))
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let full = self.resolve(path);
        let shown = full.display().to_string();
        fs::remove_file(&full).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => not_found(&shown),
            _ => io_error(e, "delete", &shown),
        })
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        let (from, to) = (self.resolve(from), self.resolve(to));
        let shown = from.display().to_string();
        if fs::symlink_metadata(&from).is_err() {
            return Err(not_found(&shown));
        }
        rename_no_clobber(&from, &to).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => exists_error(&to),
            _ => io_error(e, "rename", &shown),
        })
    }

    fn usage(&mut self) -> Result<Usage> {
        self.usage_now()
    }

    fn cleanup_temporaries(&mut self, dir: &RemotePath, before: DateTime<Utc>) -> Result<usize> {
        let path = self.resolve(dir);
        let shown = path.display().to_string();
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_error(e, "list", &shown)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(e, "list", &shown))?;
            let name = entry.file_name();
            if !name.to_str().is_some_and(names::is_temporary_name) {
                continue;
            }
            let stale = entry
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| DateTime::<Utc>::from(t) < before);
            if stale {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(e, "delete a temporary file in", &shown)),
                }
            }
        }
        Ok(removed)
    }
}

/// A temporary upload file, removed when dropped (on every error path); emptied once it has
/// been renamed.
struct Temporary(Option<PathBuf>);

impl Drop for Temporary {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

fn exists_error(path: &Path) -> Error {
    super::exists_error(&path.display().to_string())
}

fn rename_no_clobber(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(from, to)
        }
    }
}

/// Free space for us on the disk holding `folder` (or its nearest existing parent, for a
/// folder not created yet); `None` if the OS cannot tell.
fn disk_free(folder: &Path) -> Option<u64> {
    folder
        .ancestors()
        .find(|p| p.exists())
        .and_then(|p| fs4::available_space(p).ok())
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows cannot open a folder as a file; NTFS journals the rename itself.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_relative_to_the_base_unless_absolute() {
        let base = Path::new("/data/app");
        let d = LocalDestination::new(base, "Jira Backups/Überblick", None).unwrap();
        assert_eq!(d.folder(), Path::new("/data/app/Jira Backups/Überblick"));
        let abs = LocalDestination::new(base, "/mnt/usb/backups", Some(5)).unwrap();
        assert_eq!(abs.folder(), Path::new("/mnt/usb/backups"));
        assert_eq!(abs.quota(), Some(5));
        let default = LocalDestination::default_in(base);
        assert_eq!(default.folder(), Path::new("/data/app/Backups"));
        assert_eq!(default.quota(), Some(DEFAULT_QUOTA));
    }

    #[test]
    fn folders_with_traversal_or_control_characters_are_refused() {
        for bad in ["../x", "a/../../b", "a\0b", "a\nb"] {
            let e = LocalDestination::new(Path::new("/base"), bad, None).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn rename_no_clobber_refuses_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"new").unwrap();
        fs::write(&b, b"old").unwrap();
        let e = rename_no_clobber(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&b).unwrap(), b"old");
        fs::remove_file(&b).unwrap();
        rename_no_clobber(&a, &b).unwrap();
        assert!(!a.exists());
        assert_eq!(fs::read(&b).unwrap(), b"new");
    }

    #[test]
    fn usage_of_a_folder_not_created_yet_is_zero_with_disk_free() {
        let dir = tempfile::tempdir().unwrap();
        let d = LocalDestination::new(dir.path(), "not/yet", Some(100)).unwrap();
        let u = d.session().usage().unwrap();
        assert_eq!(u.used, 0);
        assert_eq!(u.quota, Some(100));
        assert!(u.disk_free.is_some_and(|f| f > 0), "{u:?}");
    }

    #[test]
    fn usage_counts_our_snapshots_in_scheme_folders_below_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Backups");
        let daily = root.join("daily");
        fs::create_dir_all(daily.join("deeper")).unwrap();
        fs::write(root.join("acme-basic-2026-11-22_0300.zip"), [0u8; 10]).unwrap();
        fs::write(daily.join("acme-basic-2026-11-23_0300.zip"), [0u8; 20]).unwrap();
        fs::write(
            daily.join("deeper/acme-extended-2026-11-24_0300.zip"),
            [0u8; 30],
        )
        .unwrap();
        // Not ours: never counted.
        fs::write(daily.join("holiday.jpg"), [0u8; 1000]).unwrap();
        fs::write(
            daily.join("acme-basic-2026-11-23_0300.zip.part"),
            [0u8; 1000],
        )
        .unwrap();
        let d = LocalDestination::new(dir.path(), "Backups", Some(100)).unwrap();
        assert_eq!(d.session().usage().unwrap().used, 60);
    }
}
