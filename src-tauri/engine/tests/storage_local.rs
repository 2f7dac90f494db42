//! The local folder destination, black box: what ends up on disk, what is listed, and what is
//! left behind when something fails.

use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use backup_center_engine::secrets::MemoryStore;
use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::local::LocalSession;
use backup_center_engine::storage::names::{is_temporary_name, temporary_name};
use backup_center_engine::storage::{
    test_connection, CheckStep, LocalDestination, RemotePath, Session,
};
use backup_center_engine::ErrorKind;
use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

fn snapshot_name(minute: u32) -> String {
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute));
    file_name("acme.atlassian.net", SnapshotKind::Basic, at)
}

fn path(name: &str) -> RemotePath {
    RemotePath::parse(name).unwrap()
}

/// A session on `<tmp>/Backups`, folder created.
fn session(tmp: &Path, quota: Option<u64>) -> (LocalDestination, LocalSession) {
    let dest = LocalDestination::new(tmp, "Backups", quota).unwrap();
    let mut s = dest.session();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    (dest, s)
}

/// Deterministic bytes that do not compress to nothing and span several write chunks.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn temporaries(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.contains(".part-"))
        .collect()
}

/// A reader that yields `good` bytes and then fails.
struct FailingReader {
    good: Vec<u8>,
    pos: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.good.len() {
            return Err(io::Error::other("the snapshot file vanished"));
        }
        let n = buf.len().min(self.good.len() - self.pos);
        buf[..n].copy_from_slice(&self.good[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Seek for FailingReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(at) = to else {
            return Err(io::Error::other("only SeekFrom::Start"));
        };
        self.pos = (at as usize).min(self.good.len());
        Ok(self.pos as u64)
    }
}

#[test]
fn put_list_remove_round_trip_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let data = content(3 * 1024 * 1024 + 17);
    let name = snapshot_name(0);

    let stored = s
        .put(&path(&name), &mut &data[..], Some(data.len() as u64))
        .unwrap();
    assert_eq!(stored.name, name);
    assert_eq!(stored.size, data.len() as u64);

    let on_disk = fs::read(dest.folder().join(&name)).unwrap();
    assert_eq!(
        Sha256::digest(&on_disk),
        Sha256::digest(&data),
        "the stored backup must be byte-identical to what was sent"
    );
    let listed = s.list(&RemotePath::folder()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, name);
    assert_eq!(listed[0].size, data.len() as u64);
    assert!(listed[0].modified.is_some());
    assert!(temporaries(dest.folder()).is_empty());

    s.remove(&path(&name)).unwrap();
    assert!(s.list(&RemotePath::folder()).unwrap().is_empty());
    let again = s.remove(&path(&name)).unwrap_err();
    assert_eq!(again.kind, ErrorKind::NotFound);
}

#[test]
fn foreign_files_are_never_listed_counted_or_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), Some(1_000_000));
    let folder = dest.folder().to_path_buf();
    let foreign = [
        "notes.txt",
        "photo.zip",
        "acme-basic-2026-11-22_0300.zip.bak",
        ".notes.txt.part-0123456789abcdef",
    ];
    for f in foreign {
        fs::write(folder.join(f), b"someone else's").unwrap();
    }
    // A folder with one of our names is not a backup either.
    fs::create_dir(folder.join(snapshot_name(59))).unwrap();
    let ours = snapshot_name(1);
    s.put(&path(&ours), &mut &b"ours"[..], None).unwrap();

    let listed: Vec<String> = s
        .list(&RemotePath::folder())
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(listed, vec![ours.clone()], "only our snapshots are listed");
    assert_eq!(s.usage().unwrap().used, 4, "only our files count");
    let far_future = Utc::now() + chrono::Duration::days(365);
    assert_eq!(
        s.cleanup_temporaries(&RemotePath::folder(), far_future)
            .unwrap(),
        0
    );
    for f in foreign {
        assert_eq!(
            fs::read(folder.join(f)).unwrap(),
            b"someone else's",
            "{f} must be untouched"
        );
    }
}

#[test]
fn put_never_overwrites_an_existing_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let name = snapshot_name(2);
    s.put(&path(&name), &mut &b"the first backup"[..], None)
        .unwrap();

    let e = s
        .put(&path(&name), &mut &b"a second one"[..], None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
    assert!(e.message().contains("never overwrites"), "{}", e.message());
    assert_eq!(
        fs::read(dest.folder().join(&name)).unwrap(),
        b"the first backup",
        "an existing backup must never be overwritten"
    );
    assert!(temporaries(dest.folder()).is_empty());

    let other = snapshot_name(3);
    s.put(&path(&other), &mut &b"x"[..], None).unwrap();
    let e = s.rename(&path(&other), &path(&name)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict);
    assert_eq!(
        fs::read(dest.folder().join(&name)).unwrap(),
        b"the first backup"
    );
}

#[test]
fn quota_exceeded_is_storage_full_with_figures_and_no_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), Some(1_000));
    s.put(&path(&snapshot_name(0)), &mut &[0u8; 600][..], None)
        .unwrap();

    // Known size: refused before a byte is written.
    let e = s
        .put(&path(&snapshot_name(1)), &mut &[0u8; 500][..], Some(500))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull);
    assert!(
        e.message()
            .starts_with("Not enough storage for this backup: 500 bytes needed, 400 bytes free"),
        "{}",
        e.message()
    );

    // Unknown (or understated) size: stopped while streaming.
    let e = s
        .put(&path(&snapshot_name(2)), &mut &[0u8; 5_000][..], Some(10))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull);
    assert!(e.message().contains("400 bytes free"), "{}", e.message());

    assert!(
        temporaries(dest.folder()).is_empty(),
        "a failed upload must not leave a temporary file"
    );
    assert_eq!(entries(dest.folder()), vec![snapshot_name(0)]);
    let usage = s.usage().unwrap();
    assert_eq!((usage.used, usage.quota), (600, Some(1_000)));
    assert!(usage.disk_free.is_some());
}

#[test]
fn a_reader_failing_mid_stream_leaves_no_temporary_and_earlier_files_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let earlier = snapshot_name(0);
    s.put(&path(&earlier), &mut &b"an earlier backup"[..], None)
        .unwrap();

    let mut reader = FailingReader {
        good: content(2 * 1024 * 1024 + 5),
        pos: 0,
    };
    let e = s
        .put(&path(&snapshot_name(1)), &mut reader, None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
    assert!(e.message().contains("vanished"), "{}", e.message());
    assert_eq!(
        entries(dest.folder()),
        vec![earlier.clone()],
        "a failed run must leave neither a temporary nor a partial backup"
    );
    assert_eq!(
        fs::read(dest.folder().join(&earlier)).unwrap(),
        b"an earlier backup",
        "a failed run must not touch an earlier backup"
    );
}

/// A local folder cannot continue a file: `put_resuming` is the default, which starts over and
/// follows `put`'s rule for the temporary (see `Session::put_resuming`).
#[test]
fn put_resuming_starts_over_and_leaves_no_temporary_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let data = content(3 * 1024 * 1024 + 11);
    let name = snapshot_name(2);

    let mut failing = FailingReader {
        good: data[..2 * 1024 * 1024].to_vec(),
        pos: 700,
    };
    let e = s
        .put_resuming(&path(&name), &mut failing, None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
    assert!(temporaries(dest.folder()).is_empty());

    // What a crashed earlier attempt left is not continued, and not removed by the upload.
    let crashed = temporary_name(&name);
    fs::write(dest.folder().join(&crashed), &data[..1024 * 1024]).unwrap();
    let mut source = Cursor::new(data.clone());
    source.set_position(12_345);
    let stored = s.put_resuming(&path(&name), &mut source, None).unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(fs::read(dest.folder().join(&name)).unwrap(), data);
    assert_eq!(temporaries(dest.folder()), vec![crashed]);
    let removed = s
        .cleanup_temporaries(
            &RemotePath::folder(),
            Utc::now() + chrono::Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(entries(dest.folder()), vec![name]);
}

/// Whether permission bits stop us (they do not for root, which these tests often run as).
#[cfg(unix)]
fn permissions_apply(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("perm-probe");
    fs::create_dir(&probe).unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o555)).unwrap();
    let applies = fs::write(probe.join("x"), b"x").is_err();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();
    let _ = fs::remove_dir_all(&probe);
    applies
}

#[test]
fn check_passes_on_a_good_folder_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = LocalDestination::new(tmp.path(), "new/Backups", None).unwrap();
    let report = test_connection(&dest, &MemoryStore::new());
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        report.passed,
        vec![
            CheckStep::Connect,
            CheckStep::CreateFolder,
            CheckStep::WriteProbe,
            CheckStep::RenameProbe,
            CheckStep::ListFolder,
            CheckStep::DeleteProbe,
        ]
    );
    assert!(entries(dest.folder()).is_empty(), "the probe must be gone");
}

#[test]
fn check_names_the_failing_step() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder below a regular file cannot be created, for root too (ENOTDIR).
    fs::write(tmp.path().join("a-file"), b"x").unwrap();
    let dest = LocalDestination::new(tmp.path(), "a-file/Backups", None).unwrap();
    let report = test_connection(&dest, &MemoryStore::new());
    let (step, e) = report.failed.as_ref().expect("the check must fail");
    assert_eq!(*step, CheckStep::CreateFolder);
    assert_eq!(e.kind, ErrorKind::StoragePath, "{e:?}");
    let e = report.into_result().unwrap_err();
    assert!(
        e.message()
            .starts_with("Test connection failed at \"create the folder\""),
        "{}",
        e.message()
    );

    // A read-only folder, where permission bits apply (not as root): the write step fails.
    #[cfg(unix)]
    if permissions_apply(tmp.path()) {
        use std::os::unix::fs::PermissionsExt;
        let ro = tmp.path().join("read-only");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        let dest = LocalDestination::new(tmp.path(), "read-only", None).unwrap();
        let report = test_connection(&dest, &MemoryStore::new());
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
        let (step, e) = report.failed.expect("the check must fail");
        assert_eq!(step, CheckStep::WriteProbe);
        assert_eq!(e.kind, ErrorKind::StoragePermission);
        assert!(
            e.message().starts_with(&format!(
                "Backup Center may not write to {}: permission denied",
                ro.display()
            )),
            "{}",
            e.message()
        );
    }
}

#[test]
fn paths_with_traversal_nul_or_control_characters_are_refused() {
    for bad in [
        "../x.zip",
        "a/../../x.zip",
        "x\0.zip",
        "x\n.zip",
        "x\u{1b}.zip",
    ] {
        let e = RemotePath::parse(bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
        assert!(e.message().contains("cannot be used"), "{}", e.message());
    }
    for bad in ["../elsewhere", "Backups/../../etc", "x\0y", "line\nbreak"] {
        let e = LocalDestination::new(Path::new("/base"), bad, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
    }
}

#[test]
fn names_with_spaces_and_unicode_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = LocalDestination::new(tmp.path(), "Jira Backups/Überblick 日本", None).unwrap();
    let mut s = dest.session();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    let name = snapshot_name(4);
    s.put(&path(&name), &mut &b"abc"[..], None).unwrap();
    assert_eq!(s.list(&RemotePath::folder()).unwrap()[0].name, name);

    let sub = path("Année 2026/März");
    s.create_dir_all(&sub).unwrap();
    let odd = sub.join("Résumé du projet – 日本語.zip").unwrap();
    s.put(&odd, &mut &b"xyz"[..], None).unwrap();
    let on_disk: PathBuf = dest
        .folder()
        .join("Année 2026/März/Résumé du projet – 日本語.zip");
    assert_eq!(fs::read(on_disk).unwrap(), b"xyz");
    s.remove(&odd).unwrap();
}

#[test]
fn ten_thousand_files_are_listed_correctly_and_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let mut expected = Vec::new();
    for i in 0..10_000u32 {
        let name = snapshot_name(i);
        fs::write(dest.folder().join(&name), i.to_le_bytes()).unwrap();
        expected.push(name);
        if i % 100 == 0 {
            fs::write(dest.folder().join(format!("foreign-{i}.txt")), b"x").unwrap();
        }
    }
    expected.sort();

    let started = Instant::now();
    let listed = s.list(&RemotePath::folder()).unwrap();
    let took = started.elapsed();
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names, expected,
        "every snapshot once, sorted, no foreign file"
    );
    assert!(listed.iter().all(|f| f.size == 4));
    assert!(took < Duration::from_secs(5), "listing took {took:?}");
    assert_eq!(s.usage().unwrap().used, 40_000);
}

#[test]
fn stale_temporaries_are_cleaned_and_fresh_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut s) = session(tmp.path(), None);
    let folder = dest.folder().to_path_buf();
    let stale = temporary_name(&snapshot_name(5));
    let fresh = temporary_name(&snapshot_name(6));
    for t in [&stale, &fresh] {
        fs::write(folder.join(t), b"half a backup").unwrap();
    }
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    fs::File::options()
        .write(true)
        .open(folder.join(&stale))
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    fs::write(folder.join("keep.txt"), b"x").unwrap();

    let run_started = Utc::now() - chrono::Duration::hours(1);
    let removed = s
        .cleanup_temporaries(&RemotePath::folder(), run_started)
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(entries(&folder), {
        let mut v = vec![fresh.clone(), "keep.txt".to_string()];
        v.sort();
        v
    });
    assert!(is_temporary_name(&fresh));
}
