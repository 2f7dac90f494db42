//! An in-memory destination for tests: the same traits and rules as the real ones, plus
//! failures on demand ([`Fault`]) and a disk of any size, so "disk full", "permission denied"
//! and "connection lost after N bytes" can be tested without a server or a special mount.
//! Clones share one store, so a test keeps a handle to look inside while a session writes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeZone, Utc};

use super::download::copy_out;
use super::{
    backup_name, io_error, names, not_enough_storage, not_found, read_chunk, write_error,
    BackupFile, Destination, RemotePath, Session, Usage,
};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::SecretStore;

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `open` fails as a refused login.
    LoginRefused,
    /// Every change (create, write, rename, delete) fails with "permission denied".
    PermissionDenied,
    /// An upload fails with this I/O error once this many bytes of it have been written
    /// (`io::ErrorKind::StorageFull` is ENOSPC, `ConnectionReset` a dropped connection).
    FailAfter(u64, io::ErrorKind),
}

#[derive(Debug)]
struct Store {
    dirs: BTreeSet<String>,
    files: BTreeMap<String, (Vec<u8>, DateTime<Utc>)>,
    quota: Option<u64>,
    /// Size of the simulated disk; `None` = unlimited and unknown (as on FTP).
    capacity: Option<u64>,
    fault: Option<Fault>,
    now: DateTime<Utc>,
}

impl Store {
    fn disk_used(&self) -> u64 {
        self.files.values().map(|(d, _)| d.len() as u64).sum()
    }

    fn disk_free(&self) -> Option<u64> {
        self.capacity.map(|c| c.saturating_sub(self.disk_used()))
    }

    fn parent_exists(&self, path: &RemotePath) -> bool {
        self.dirs.contains(path.parent().as_str())
    }
}

/// The in-memory destination. `Clone` shares the store.
#[derive(Debug, Clone)]
pub struct MemoryDestination {
    store: Arc<Mutex<Store>>,
}

impl Default for MemoryDestination {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDestination {
    /// An empty destination whose folder does not exist yet, no quota, unlimited disk; its
    /// clock stands at 2026-01-01 00:00 UTC until [`MemoryDestination::set_now`].
    pub fn new() -> Self {
        Self {
            store: Arc::new(Mutex::new(Store {
                dirs: BTreeSet::new(),
                files: BTreeMap::new(),
                quota: None,
                capacity: None,
                fault: None,
                now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_quota(&self, quota: Option<u64>) {
        self.lock().quota = quota;
    }

    /// The simulated disk's size (all files count, ours or not).
    pub fn set_capacity(&self, capacity: Option<u64>) {
        self.lock().capacity = capacity;
    }

    pub fn inject(&self, fault: Option<Fault>) {
        self.lock().fault = fault;
    }

    /// The time stamped on files written from now on.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.lock().now = now;
    }

    /// Puts a file there directly (a foreign file, or an old backup), creating its folders.
    pub fn insert(&self, path: &str, data: &[u8], modified: DateTime<Utc>) {
        let path = RemotePath::parse(path).expect("a valid test path");
        let mut store = self.lock();
        let mut dir = path.parent();
        loop {
            store.dirs.insert(dir.as_str().to_string());
            if dir.is_folder() {
                break;
            }
            dir = dir.parent();
        }
        store
            .files
            .insert(path.as_str().to_string(), (data.to_vec(), modified));
    }

    /// Every file's path, temporaries and foreign files included.
    pub fn paths(&self) -> Vec<String> {
        self.lock().files.keys().cloned().collect()
    }

    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.lock().files.get(path).map(|(d, _)| d.clone())
    }

    pub fn session(&self) -> MemorySession {
        MemorySession { dest: self.clone() }
    }
}

impl Destination for MemoryDestination {
    fn describe(&self) -> String {
        "the in-memory test destination".to_string()
    }

    fn open(&self, _secrets: &dyn SecretStore) -> Result<Box<dyn Session>> {
        if self.lock().fault == Some(Fault::LoginRefused) {
            return Err(Error::new(
                ErrorKind::StorageAuth,
                "The test server refused the login.",
            ));
        }
        Ok(Box::new(self.session()))
    }
}

/// A session on a [`MemoryDestination`].
#[derive(Debug)]
pub struct MemorySession {
    dest: MemoryDestination,
}

fn shown(path: &RemotePath) -> String {
    format!("memory:/{}", path.as_str())
}

/// "permission denied" if that fault is injected, mapped as a real one would be.
fn check_writable(store: &Store, action: &str, path: &RemotePath) -> Result<()> {
    if store.fault == Some(Fault::PermissionDenied) {
        let e = io::Error::from(io::ErrorKind::PermissionDenied);
        return Err(io_error(e, action, &shown(path)));
    }
    Ok(())
}

fn list_in(store: &Store, dir: &RemotePath) -> Result<Vec<BackupFile>> {
    if !store.dirs.contains(dir.as_str()) {
        let e = io::Error::from(io::ErrorKind::NotFound);
        return Err(io_error(e, "list", &shown(dir)));
    }
    let files = store
        .files
        .iter()
        .filter_map(|(path, (data, modified))| {
            let path = RemotePath::parse(path).ok()?;
            let name = path.file_name()?;
            (path.parent() == *dir && names::is_snapshot_name(name)).then(|| BackupFile {
                name: name.to_string(),
                size: data.len() as u64,
                modified: Some(*modified),
            })
        })
        .collect();
    // BTreeMap order is name order within one folder.
    Ok(files)
}

fn usage_of(store: &Store) -> Usage {
    let used = list_in(store, &RemotePath::folder())
        .map(|files| files.iter().map(|f| f.size).sum())
        .unwrap_or(0);
    Usage {
        used,
        quota: store.quota,
        disk_free: store.disk_free(),
    }
}

impl Session for MemorySession {
    fn create_dir_all(&mut self, dir: &RemotePath) -> Result<()> {
        let mut store = self.dest.lock();
        check_writable(&store, "create the folder", dir)?;
        let mut current = RemotePath::folder();
        store.dirs.insert(String::new());
        for segment in dir.segments() {
            current = current.join(segment)?;
            if store.files.contains_key(current.as_str()) {
                let e = io::Error::from(io::ErrorKind::NotADirectory);
                return Err(io_error(e, "create the folder", &shown(dir)));
            }
            store.dirs.insert(current.as_str().to_string());
        }
        Ok(())
    }

    fn put(
        &mut self,
        path: &RemotePath,
        data: &mut dyn Read,
        size_hint: Option<u64>,
    ) -> Result<BackupFile> {
        let name = backup_name(path)?;
        let temp = path.with_file_name(&names::temporary_name(&name))?;
        let (usage, fault) = {
            let mut store = self.dest.lock();
            check_writable(&store, "write to", path)?;
            if !store.parent_exists(path) {
                let e = io::Error::from(io::ErrorKind::NotFound);
                return Err(io_error(e, "write to", &shown(&path.parent())));
            }
            if store.files.contains_key(path.as_str()) {
                let e = io::Error::from(io::ErrorKind::AlreadyExists);
                return Err(io_error(e, "store", &shown(path)));
            }
            let usage = usage_of(&store);
            if let Some(needed) = size_hint {
                usage.ensure_room(needed)?;
            }
            let now = store.now;
            store
                .files
                .insert(temp.as_str().to_string(), (Vec::new(), now));
            (usage, store.fault)
        };
        let quota_left = usage.quota.map(|q| q.saturating_sub(usage.used));
        let streamed = self.stream(&temp, data, quota_left, fault, size_hint, usage);
        let mut store = self.dest.lock();
        let written = match streamed {
            Ok(n) => n,
            Err(e) => {
                store.files.remove(temp.as_str());
                return Err(e);
            }
        };
        let entry = store.files.remove(temp.as_str()).unwrap_or_default();
        if store.files.contains_key(path.as_str()) {
            let e = io::Error::from(io::ErrorKind::AlreadyExists);
            return Err(io_error(e, "store", &shown(path)));
        }
        let modified = entry.1;
        store.files.insert(path.as_str().to_string(), entry);
        Ok(BackupFile {
            name,
            size: written,
            modified: Some(modified),
        })
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<BackupFile>> {
        list_in(&self.dest.lock(), dir)
    }

    fn get(
        &mut self,
        path: &RemotePath,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64> {
        // Reading is allowed under every fault. A copy, so `out` never runs under the lock.
        let data = self
            .dest
            .lock()
            .files
            .get(path.as_str())
            .map(|(d, _)| d.clone());
        let what = shown(path);
        let Some(data) = data else {
            return Err(not_found(&what));
        };
        copy_out(&mut &data[..], out, progress, &what)
            .map_err(|f| f.into_error(|e| io_error(e, "read", &what)))
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let mut store = self.dest.lock();
        check_writable(&store, "delete", path)?;
        match store.files.remove(path.as_str()) {
            Some(_) => Ok(()),
            None => Err(not_found(&shown(path))),
        }
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath) -> Result<()> {
        let mut store = self.dest.lock();
        check_writable(&store, "rename", from)?;
        if store.files.contains_key(to.as_str()) {
            let e = io::Error::from(io::ErrorKind::AlreadyExists);
            return Err(io_error(e, "rename", &shown(to)));
        }
        let Some(entry) = store.files.remove(from.as_str()) else {
            return Err(not_found(&shown(from)));
        };
        store.files.insert(to.as_str().to_string(), entry);
        Ok(())
    }

    fn usage(&mut self) -> Result<Usage> {
        Ok(usage_of(&self.dest.lock()))
    }

    fn cleanup_temporaries(&mut self, dir: &RemotePath, before: DateTime<Utc>) -> Result<usize> {
        let mut store = self.dest.lock();
        check_writable(&store, "delete a temporary file in", dir)?;
        let stale: Vec<String> = store
            .files
            .iter()
            .filter(|(path, (_, modified))| {
                RemotePath::parse(path).is_ok_and(|p| {
                    p.parent() == *dir
                        && p.file_name().is_some_and(names::is_temporary_name)
                        && *modified < before
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        for path in &stale {
            store.files.remove(path);
        }
        Ok(stale.len())
    }
}

impl MemorySession {
    /// Copies `data` into the temporary file chunk by chunk, applying quota, disk size and
    /// injected faults as a real disk or server would.
    fn stream(
        &self,
        temp: &RemotePath,
        data: &mut dyn Read,
        quota_left: Option<u64>,
        fault: Option<Fault>,
        hint: Option<u64>,
        usage: Usage,
    ) -> Result<u64> {
        let what = shown(&temp.parent());
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = match read_chunk(data, &mut buf, &what)? {
                0 => return Ok(written),
                n => n,
            };
            let after = written + n as u64;
            if quota_left.is_some_and(|q| after > q) {
                let needed = hint.unwrap_or(after).max(after);
                return Err(not_enough_storage(Some(needed), quota_left));
            }
            if let Some(Fault::FailAfter(limit, kind)) = fault {
                if after > limit {
                    let free = usage.available();
                    return Err(write_error(io::Error::from(kind), hint, free, &what));
                }
            }
            let mut store = self.dest.lock();
            if store.disk_free().is_some_and(|free| (n as u64) > free) {
                let e = io::Error::from(io::ErrorKind::StorageFull);
                return Err(write_error(e, hint, usage.available(), &what));
            }
            if let Some((file, _)) = store.files.get_mut(temp.as_str()) {
                file.extend_from_slice(&buf[..n]);
            }
            written = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;
    use crate::storage::{test_connection, CheckStep};

    const NAME: &str = "acme.atlassian.net-basic-2026-11-22_0300.zip";

    fn ready() -> (MemoryDestination, MemorySession) {
        let dest = MemoryDestination::new();
        let mut s = dest.session();
        s.create_dir_all(&RemotePath::folder()).unwrap();
        (dest, s)
    }

    #[test]
    fn disk_full_mid_write_is_storage_full_and_leaves_nothing() {
        let (dest, mut s) = ready();
        dest.set_capacity(Some(100_000));
        let data = vec![7u8; 150_000];
        let e = s
            .put(&RemotePath::parse(NAME).unwrap(), &mut &data[..], None)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
        assert!(e
            .message()
            .starts_with("Not enough storage for this backup"));
        assert!(dest.paths().is_empty(), "{:?}", dest.paths());
    }

    #[test]
    fn injected_enospc_after_n_bytes_keeps_the_figures() {
        let (dest, mut s) = ready();
        dest.set_capacity(Some(1_000_000));
        dest.inject(Some(Fault::FailAfter(10, io::ErrorKind::StorageFull)));
        let data = vec![1u8; 500];
        let e = s
            .put(&RemotePath::parse(NAME).unwrap(), &mut &data[..], Some(500))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageFull);
        assert!(
            e.message()
                .contains("Not enough storage for this backup: 500 bytes needed, 1.0 MB free"),
            "{}",
            e.message()
        );
        assert!(dest.paths().is_empty());
    }

    #[test]
    fn a_dropped_connection_is_transient() {
        let (dest, mut s) = ready();
        dest.inject(Some(Fault::FailAfter(0, io::ErrorKind::ConnectionReset)));
        let e = s
            .put(&RemotePath::parse(NAME).unwrap(), &mut &b"abc"[..], None)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.is_transient());
        assert!(dest.paths().is_empty());
    }

    #[test]
    fn permission_denied_is_named_in_the_check() {
        let dest = MemoryDestination::new();
        dest.inject(Some(Fault::PermissionDenied));
        let report = test_connection(&dest, &MemoryStore::new());
        assert_eq!(report.passed, vec![CheckStep::Connect]);
        let (step, e) = report.failed.as_ref().unwrap();
        assert_eq!(*step, CheckStep::CreateFolder);
        assert_eq!(e.kind, ErrorKind::StoragePermission);
        let e = report.into_result().unwrap_err();
        assert!(
            e.message().starts_with(
                "Test connection failed at \"create the folder\": Backup Center may not create \
                 the folder memory:/: permission denied"
            ),
            "{}",
            e.message()
        );
    }

    #[test]
    fn refused_login_fails_the_connect_step() {
        let dest = MemoryDestination::new();
        dest.inject(Some(Fault::LoginRefused));
        let report = test_connection(&dest, &MemoryStore::new());
        let (step, e) = report.failed.unwrap();
        assert_eq!(step, CheckStep::Connect);
        assert_eq!(e.kind, ErrorKind::StorageAuth);
    }

    #[test]
    fn a_clean_check_passes_every_step_and_leaves_nothing() {
        let dest = MemoryDestination::new();
        let report = test_connection(&dest, &MemoryStore::new());
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.passed.len(), 6);
        assert!(dest.paths().is_empty(), "{:?}", dest.paths());
    }

    #[test]
    fn stale_temporaries_go_fresh_ones_and_foreign_files_stay() {
        let (dest, mut s) = ready();
        let old = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let new = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let stale = names::temporary_name(NAME);
        let fresh = names::temporary_name(NAME);
        dest.insert(&stale, b"x", old);
        dest.insert(&fresh, b"x", new);
        dest.insert(".notes.part-0123456789abcdef", b"x", old);
        let cutoff = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            s.cleanup_temporaries(&RemotePath::folder(), cutoff)
                .unwrap(),
            1
        );
        let mut left = dest.paths();
        left.sort();
        let mut expected = vec![fresh, ".notes.part-0123456789abcdef".to_string()];
        expected.sort();
        assert_eq!(left, expected);
    }
}
