//! What the destination tests against real servers (`storage_ftp`, `storage_sftp`) share:
//! snapshot names, content that catches text-mode and off-by-one bugs, what a folder on the
//! server's disk holds, readers that fail or act at a given point of an upload, and the
//! download checks every server passes.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::{download, RemotePath, Session};
use backup_center_engine::ErrorKind;
use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// The name of a snapshot of acme.atlassian.net taken `minute` minutes after 03:00 on
/// 2026-11-22 (one name per minute).
pub fn snapshot_name(minute: u32) -> String {
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute));
    file_name("acme.atlassian.net", SnapshotKind::Basic, at)
}

pub fn path(name: &str) -> RemotePath {
    RemotePath::parse(name).unwrap()
}

/// `len` bytes: every byte value (CR, LF, NUL, 0xFF included), CR/LF in every combination a
/// text-mode transfer would rewrite, then noise that does not compress.
pub fn content(len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).collect();
    for _ in 0..64 {
        data.extend_from_slice(b"line\r\nunix\nmac\rodd\n\r\r\r\n\n");
    }
    let mut x: u32 = 0x1234_5678;
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push(x as u8);
    }
    data.truncate(len);
    data
}

/// SHA-256 as hex: compares big contents with a short message when they differ.
pub fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The names in `dir` on the server's disk, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The temporary upload files in `dir` (ours or not).
pub fn temporaries(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.contains(".part-"))
        .collect()
}

/// `message` starts with `prefix`, or the assertion shows both.
pub fn assert_prefix(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "message:\n  {message}\nshould start with:\n  {prefix}"
    );
}

/// A reader over `data` that runs `action` once `at` bytes have been read, or fails there
/// ([`Tripwire::failing`]). Reads in 64 KiB pieces so the action lands mid-upload; seeks
/// (from the start only) for `put_resuming`.
pub struct Tripwire<'a> {
    data: &'a [u8],
    pos: usize,
    at: usize,
    action: Option<Box<dyn FnOnce() + 'a>>,
    fail: bool,
}

impl<'a> Tripwire<'a> {
    pub fn new(data: &'a [u8], at: usize, action: impl FnOnce() + 'a) -> Self {
        Self {
            data,
            pos: 0,
            at,
            action: Some(Box::new(action)),
            fail: false,
        }
    }

    /// Fails every read once `at` bytes have been read, as a snapshot file on a disk that went
    /// away.
    pub fn failing(data: &'a [u8], at: usize) -> Self {
        Self {
            data,
            pos: 0,
            at,
            action: None,
            fail: true,
        }
    }
}

impl Read for Tripwire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.at {
            if let Some(action) = self.action.take() {
                action();
            }
            if self.fail {
                return Err(io::Error::other("the snapshot file vanished"));
            }
        }
        let end = self.data.len().min(self.pos + buf.len().min(64 * 1024));
        let n = end - self.pos;
        buf[..n].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(n)
    }
}

impl Seek for Tripwire<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(at) = to else {
            return Err(io::Error::other("only SeekFrom::Start"));
        };
        self.pos = (at as usize).min(self.data.len());
        Ok(self.pos as u64)
    }
}

/// Counts the bytes read (what an upload actually reads of the backup).
pub struct Counting<R> {
    pub inner: R,
    pub read: u64,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, read: 0 }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

/// A local disk that fills up after `room` bytes.
struct FillsUp {
    room: usize,
}

impl Write for FillsUp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.room {
            return Err(io::ErrorKind::StorageFull.into());
        }
        self.room -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Downloads ("Download…" in the app) from a server, through `s`, whose (empty, existing)
/// folder is `folder` on the server's disk and `shown` as the user sees it: a multi-MiB backup
/// byte-identical (checked against a SHA-256 computed here with another implementation), a
/// copy that does not match not saved, a local disk filling up mid-transfer with the session
/// still usable after it, and the clear errors for a missing or unreadable backup.
pub fn check_downloads(s: &mut dyn Session, folder: &Path, shown: &str) {
    let data = content(5 * MIB + 333);
    let (len, expected) = (data.len() as u64, sha(&data));
    let name = snapshot_name(7);
    s.put(&path(&name), &mut &data[..], Some(len)).unwrap();

    let local = tempfile::tempdir().unwrap();
    let to = local.path().join(&name);
    let mut seen = Vec::new();
    let saved = download(s, &path(&name), &to, len, &expected, &mut |n| seen.push(n)).unwrap();
    assert_eq!(saved, len);
    assert_eq!(
        sha(&fs::read(&to).unwrap()),
        expected,
        "the copy must be byte-identical (every byte value, CR/LF: FTP's binary mode)"
    );
    assert_eq!(seen.len(), 6, "one progress call per MiB: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&len));
    assert_eq!(
        entries(local.path()),
        vec![name.clone()],
        "no temporary left"
    );

    // A copy that does not match what was recorded is not saved.
    let other = local.path().join("other.zip");
    let e = download(s, &path(&name), &other, len, &sha(b"x"), &mut |_| {}).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SnapshotCorrupt, "{e:?}");
    assert_eq!(entries(local.path()), vec![name.clone()]);

    // The local disk fills up mid-transfer; the session goes on (FTP: the server's reply to
    // the broken-off transfer is read).
    let e = s
        .get(&path(&name), &mut FillsUp { room: 2 * MIB }, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
    assert_prefix(
        e.message(),
        &format!("Could not save the copy of {shown}/{name}"),
    );
    let mut again = Vec::new();
    assert_eq!(s.get(&path(&name), &mut again, &mut |_| {}).unwrap(), len);
    assert_eq!(sha(&again), expected);

    let missing = snapshot_name(8);
    let e = s
        .get(&path(&missing), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    assert_eq!(e.message(), format!("{shown}/{missing} does not exist."));
    let e = s
        .get(&path("no folder/x.zip"), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    let e = s
        .get(&RemotePath::folder(), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::NotFound,
        "a folder is not a backup: {e:?}"
    );

    // Root's file, not readable by the server's user: there, but refused.
    let locked = snapshot_name(9);
    fs::write(folder.join(&locked), b"secret").unwrap();
    fs::set_permissions(folder.join(&locked), fs::Permissions::from_mode(0o600)).unwrap();
    let e = s
        .get(&path(&locked), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    assert_prefix(e.message(), "Backup Center may not read ");
    assert_eq!(
        s.list(&RemotePath::folder()).unwrap().len(),
        2,
        "the session is still usable"
    );
}
